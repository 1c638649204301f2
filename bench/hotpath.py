"""CPU per delivery of the store's hot path, without HTTP: a repeatable figure on a noisy box.

``python -m bench.hotpath [--deliveries 5000] [--repeat 3]`` fills a fresh SQLite store
with one-shots due at the same instant, then times, in this process: the scheduler's
transactions (claim due events, insert deliveries, advance events), the dispatcher's
claims, and the recorder's writes of a success for each. It prints process CPU (all
threads, so SQLite's work in aiosqlite's threads counts) per delivery for each stage,
best of ``--repeat`` fresh stores. Wall-clock rates on a shared machine swing by 2x;
CPU per operation moves by a few percent, so it shows whether a change to the store
helped. Run it from two checkouts one after the other to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.onewatch_store import insert_events, migrate, one_shots, sqlite_url
from onewatch.engine.scheduler import plan_event
from onewatch.store import open_store
from onewatch.store.records import ClaimedDelivery, Outcome

BATCH = 500
RECORD_BATCH = 250


def _prepared(deliveries: int) -> tuple[str, datetime]:
    url = sqlite_url(Path(tempfile.mkdtemp(prefix="onewatch-hotpath-")))
    migrate(url)
    due = datetime.now(UTC) + timedelta(minutes=5)
    insert_events(url, one_shots("hotpath", [due] * deliveries), "http://127.0.0.1:9/hotpath")
    return url, due


def _success(item: ClaimedDelivery, now: datetime) -> Outcome:
    return Outcome(
        delivery_id=item.id,
        lease_token=item.lease_token,
        attempt=1,
        status="succeeded",
        next_attempt_at=item.next_attempt_at,
        started_at=now,
        latency_ms=1,
        status_code=200,
        attempt_outcome="succeeded",
        response_excerpt="",
        error=None,
        finished_at=now,
    )


async def _stages(url: str, due: datetime) -> dict[str, float]:
    """CPU seconds of each stage over one store, every delivery going through each."""
    store = open_store(url)
    horizon = due + timedelta(seconds=1)
    spent: dict[str, float] = {}
    try:
        started = time.process_time()
        while (
            await store.fire_due_events(
                now=due,
                horizon=horizon,
                limit=BATCH,
                plan=lambda event: plan_event(event, now=due, horizon=horizon, fire_all_cap=10),
            )
        ).full:
            pass
        spent["fire"] = time.process_time() - started
        started = time.process_time()
        claimed: list[ClaimedDelivery] = []
        while batch := await store.claim_ready(
            now=due, horizon=horizon, limit=BATCH, lease_seconds=60
        ):
            claimed += batch
        spent["claim"] = time.process_time() - started
        started = time.process_time()
        outcomes = [_success(item, due) for item in claimed]
        for first in range(0, len(outcomes), RECORD_BATCH):
            await store.record_outcomes(outcomes[first : first + RECORD_BATCH], now=due)
        spent["record"] = time.process_time() - started
    finally:
        await store.dispose()
    return spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    stores = [_prepared(args.deliveries) for _ in range(args.repeat)]
    best: dict[str, float] = {}
    for url, due in stores:
        for stage, seconds in asyncio.run(_stages(url, due)).items():
            best[stage] = min(best.get(stage, seconds), seconds)
    per = {stage: 1e6 * seconds / args.deliveries for stage, seconds in best.items()}
    figures = "  ".join(f"{stage} {micros:.1f}" for stage, micros in per.items())
    total = sum(per.values())
    print(f"us of CPU per delivery (best of {args.repeat}): {figures}  total {total:.1f}")


if __name__ == "__main__":
    main()
