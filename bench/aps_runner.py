"""The harness's side of the APScheduler baseline: build its store once, then run it."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.aps_worker import ADDED_PREFIX
from bench.context import Context
from bench.procs import ProcessSampler, child_env, python, sqlite_size_bytes
from bench.runs import read_line, sleep_until, waiting_for
from bench.stats import summarize

SYSTEM = "apscheduler"
DEFAULT_ADD_MS = 3.0


def start_worker(config: dict[str, Any], run_dir: Path) -> subprocess.Popen[str]:
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(config))
    return subprocess.Popen(
        [python(), "-m", "bench.aps_worker", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=(run_dir / "worker.log").open("w"),
        env=child_env(),
        text=True,
    )


def build_store(ctx: Context) -> Path:
    """Add the stored background with ``add_job``, bounded in time; once per invocation."""
    key = (SYSTEM, -1)
    if key in ctx.templates:
        return ctx.templates[key]
    run_dir = ctx.run_dir("aps-build")
    database = run_dir / "jobs.db"
    config = {
        "mode": "build",
        "db": str(database),
        "sink_url": ctx.sink.base,
        "background": ctx.sizes.aps_background,
        "bound_seconds": ctx.sizes.aps_build_bound_seconds,
        "result": str(run_dir / "result.json"),
    }
    worker = start_worker(config, run_dir)
    try:
        worker.wait(timeout=ctx.sizes.aps_build_bound_seconds + 120)
    finally:
        stop_worker(worker)
    ctx.aps_build = json.loads((run_dir / "result.json").read_text())
    ctx.aps_build["store_bytes"] = sqlite_size_bytes(database)
    ctx.templates[key] = database
    return database


def stored_copy(ctx: Context, stored: int, target: Path) -> int:
    """A copy of the built store holding at most ``stored`` jobs; how many it holds."""
    shutil.copyfile(build_store(ctx), target)
    with contextlib.closing(sqlite3.connect(target)) as connection:
        connection.execute(
            "DELETE FROM apscheduler_jobs WHERE id NOT IN"
            " (SELECT id FROM apscheduler_jobs ORDER BY id LIMIT ?)",
            (stored,),
        )
        connection.commit()
        (held,) = connection.execute("SELECT count(*) FROM apscheduler_jobs").fetchone()
    return int(held)


def stop_worker(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=60)
    if worker.poll() is None:
        worker.kill()
        worker.wait()


def wait_added(worker: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    line = read_line(worker, timeout)
    if line is None or not line.startswith(ADDED_PREFIX):
        stop_worker(worker)
        raise RuntimeError(f"APScheduler worker did not add its jobs: {line!r}")
    added: dict[str, Any] = json.loads(line[len(ADDED_PREFIX) :])
    return added


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _measure(
    ctx: Context, worker: subprocess.Popen[str], run_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait for the adds, then watch the worker from the first due instant to the end."""
    added = wait_added(worker, ctx.sizes.drain_bound_seconds + ctx.sizes.aps_build_bound_seconds)
    # CPU is measured over the firing window, not the adds before it.
    sleep_until(_instant(added["first_due"]))
    sampler = ProcessSampler(worker.pid)
    waiting = waiting_for(_instant(added["last_due"]), ctx.sizes)
    ctx.sink.wait_for(added["jobs"], f"/{run_id}", waiting)
    return added, sampler.stop()


def _reported(result: Path, added: dict[str, Any]) -> dict[str, Any]:
    """The worker's own counts; when it had to be killed, what the sink saw must do.

    With default settings a 10,000-job burst keeps APScheduler busy dropping missed jobs
    (one job-store commit each) past the stop grace, so it never writes its counts.
    """
    if result.exists():
        reported: dict[str, Any] = json.loads(result.read_text())
        return reported
    return {**added, "executed": None, "missed": None, "job_errors": None, "worker_killed": True}


def run_due(
    ctx: Context, stored: int, dues: dict[str, Any], settings: str, label: str
) -> dict[str, Any]:
    """One run: ``dues`` (burst or steady) over ``stored`` background jobs."""
    run_id = ctx.run_id(label)
    run_dir = ctx.run_dir(run_id)
    database = run_dir / "jobs.db"
    held = stored_copy(ctx, stored, database)
    config = {
        "mode": "run",
        "db": str(database),
        "sink_url": ctx.sink.base,
        "path": f"/{run_id}",
        "run_id": run_id,
        "settings": settings,
        "dues": dues,
        "add_estimate_ms": ctx.aps_build.get("add_ms_per_job", DEFAULT_ADD_MS),
        "lead_min_seconds": ctx.sizes.burst_lead_seconds,
        "result": str(run_dir / "result.json"),
    }
    worker = start_worker(config, run_dir)
    try:
        added, usage = _measure(ctx, worker, run_id)
    finally:
        stop_worker(worker)
    reported = _reported(run_dir / "result.json", added)
    summary = summarize(ctx.sink.receipts(f"/{run_id}"), expected=added["jobs"])
    store_bytes = sqlite_size_bytes(database)
    database.unlink()
    return {
        "system": SYSTEM,
        "settings": settings,
        "stored": held,
        "run_id": run_id,
        **reported,
        **summary,
        **usage,
        "store_bytes": store_bytes,
    }
