"""The APScheduler 3.x baseline, built the way a Python team would build it.

``AsyncIOScheduler`` with its ``SQLAlchemyJobStore`` on a SQLite file; each job a
``date`` trigger (cron triggers for the stored background) whose function POSTs to the
sink with aiohttp. Runs in its own process so its RSS and CPU can be watched.

``python -m bench.aps_worker CONFIG.json``; modes:

- ``build``: add stored background jobs with ``add_job`` until the count or the time
  bound is reached; the result says how many and how fast.
- ``run``: open a copy of that store, add the scenario's due jobs (timed), print
  ``ADDED {json}``, then run until SIGTERM; the result counts missed and failed jobs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bench import aps_jobs
from bench.workload import StoredEvent, background_events, due_instant, iso_instant, steady_dues

ADDED_PREFIX = "ADDED "
TUNED_DEFAULTS = {"misfire_grace_time": None, "coalesce": True}


def make_scheduler(database: str, settings: str) -> AsyncIOScheduler:
    job_defaults = TUNED_DEFAULTS if settings == "tuned" else {}
    return AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{database}")},
        job_defaults=job_defaults,
        timezone="UTC",
    )


def _trigger(event: StoredEvent) -> CronTrigger | DateTrigger:
    if event.pattern.endswith("Z"):
        return DateTrigger(run_date=event.next_fire)
    return CronTrigger.from_crontab(event.pattern, timezone=event.timezone)


async def build(config: dict[str, Any]) -> dict[str, Any]:
    scheduler = make_scheduler(config["db"], "default")
    scheduler.start()
    url = config["sink_url"] + "/background"
    deadline = time.monotonic() + config["bound_seconds"]
    started = time.monotonic()
    added = 0
    for event in background_events(config["background"], datetime.now(UTC)):
        if time.monotonic() > deadline:
            break
        due = iso_instant(event.next_fire)
        scheduler.add_job(aps_jobs.post, _trigger(event), args=[url, event.key, due], id=event.key)
        added += 1
    seconds = time.monotonic() - started
    scheduler.shutdown(wait=False)
    return {
        "requested": config["background"],
        "added": added,
        "add_seconds": seconds,
        "add_ms_per_job": 1000 * seconds / max(1, added),
        "bounded": added < config["background"],
    }


def _dues(config: dict[str, Any], lead: float) -> list[datetime]:
    spec = config["dues"]
    start = due_instant(lead, datetime.now(UTC))
    if spec["kind"] == "burst":
        return [start] * spec["n"]
    if spec["kind"] == "none":
        return []
    return steady_dues(start, spec["rate"], spec["seconds"])


def _job_count(spec: dict[str, Any]) -> int:
    if spec["kind"] == "burst":
        return int(spec["n"])
    if spec["kind"] == "none":
        return 0
    return int(spec["rate"] * spec["seconds"])


def add_due_jobs(scheduler: AsyncIOScheduler, config: dict[str, Any]) -> dict[str, Any]:
    """Add the scenario's jobs; their first due instant leaves room for adding them all."""
    count = _job_count(config["dues"])
    estimate = count * config["add_estimate_ms"] / 1000
    lead = max(config["lead_min_seconds"], 1.5 * estimate + 2.0)
    dues = _dues(config, lead)
    url = config["sink_url"] + config["path"]
    started = time.monotonic()
    for index, due in enumerate(dues):
        key = f"{config['run_id']}-{index:07d}"
        trigger = DateTrigger(run_date=due)
        scheduler.add_job(aps_jobs.post, trigger, args=[url, key, iso_instant(due)], id=key)
    finished = datetime.now(UTC)
    first, last = (dues[0], dues[-1]) if dues else (finished, finished)
    return {
        "jobs": len(dues),
        "add_seconds": time.monotonic() - started,
        "first_due": iso_instant(first),
        "last_due": iso_instant(last),
        "adds_overran_due_s": max(0.0, (finished - first).total_seconds()),
    }


class Outcomes:
    """What APScheduler itself reports about the jobs it ran or dropped."""

    def __init__(self) -> None:
        self.counts = {"executed": 0, "missed": 0, "job_errors": 0}

    def __call__(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            self.counts["missed"] += 1
        elif event.code == EVENT_JOB_ERROR:
            self.counts["job_errors"] += 1
        else:
            self.counts["executed"] += 1


async def run(config: dict[str, Any]) -> dict[str, Any]:
    session = aps_jobs.open_session()
    scheduler = make_scheduler(config["db"], config["settings"])
    outcomes = Outcomes()
    scheduler.add_listener(outcomes, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    scheduler.start()
    added = add_due_jobs(scheduler, config)
    print(ADDED_PREFIX + json.dumps(added), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    scheduler.shutdown(wait=False)
    await session.close()
    return {**added, **outcomes.counts}


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    mode = build if config["mode"] == "build" else run
    result = asyncio.run(mode(config))
    Path(config["result"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
