"""What the buffered-release look adds to recording a batch of outcomes.

``python -m bench.release_cost URL [URL...]`` (a migrated-on-the-fly store per URL; its
events and deliveries tables are emptied first, so give a scratch database): 200-outcome
batches of succeeded deliveries of ``allow`` events (the common case: nothing to
release) are recorded with ``record_outcomes``, alternately with the look that releases
a buffered delivery and with it replaced by a no-op. Prints the median of each in ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.domain.statuses import AttemptOutcome, DeliveryStatus
from onewatch.store import base as store_base
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.records import Outcome
from onewatch.store.schema import deliveries, events

BATCH = 200
EVENTS = 50
ROUNDS = 30
NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def _events(engine: AsyncEngine) -> list[int]:
    async with engine.begin() as connection:
        await connection.execute(delete(deliveries))
        await connection.execute(delete(events))
        values = [
            {
                "service": "bench",
                "key": f"release-{n}",
                "target_type": "webhook",
                "target": {"endpoint": "http://127.0.0.1:9/"},
                "params": {},
                "pattern": "* * * * *",
                "timezone": "UTC",
                "status": "active",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for n in range(EVENTS)
        ]
        result = await connection.execute(insert(events).returning(events.c.id), values)
        return [int(ident) for ident in result.scalars().all()]


async def _batch(store: SqlStore, event_ids: Sequence[int], round_: int) -> list[Outcome]:
    rows = [
        {
            "id": f"r{round_}-{n}",
            "event_id": event_ids[n % EVENTS],
            "service": "bench",
            "event_key": f"release-{n % EVENTS}",
            "kind": "scheduled",
            "scheduled_for": NOW + timedelta(minutes=round_, seconds=n),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(BATCH)
    ]
    async with store.engine.begin() as connection:
        await connection.execute(insert(deliveries), rows)
    claimed = await store.claim_ready(now=NOW, horizon=NOW, limit=BATCH, lease_seconds=60)
    return [
        Outcome(
            d.id,
            d.lease_token,
            1,
            DeliveryStatus.SUCCEEDED,
            NOW,
            NOW,
            1,
            200,
            AttemptOutcome.SUCCEEDED,
            "ok",
            None,
            NOW,
        )
        for d in claimed
    ]


async def _no_release(*_args: Any) -> int:
    return 0


async def measure(url: str) -> dict[str, float]:
    store = open_store(url)
    real: Callable[..., Awaitable[int]] = store_base.release_buffered
    timings: dict[str, list[float]] = {"with the look": [], "without": []}
    try:
        await store.migrate()
        event_ids = await _events(store.engine)
        for round_ in range(ROUNDS * 2):
            mode = "with the look" if round_ % 2 == 0 else "without"
            store_base.release_buffered = real if round_ % 2 == 0 else _no_release  # type: ignore[assignment]
            outcomes = await _batch(store, event_ids, round_)
            start = time.perf_counter()
            await store.record_outcomes(outcomes, now=NOW)
            timings[mode].append(time.perf_counter() - start)
    finally:
        store_base.release_buffered = real  # type: ignore[assignment]
        await store.dispose()
    return {mode: statistics.median(values[3:]) * 1000 for mode, values in timings.items()}


def main(urls: Sequence[str]) -> None:
    for url in urls:
        figures = asyncio.run(measure(url))
        shown = ", ".join(f"{mode} {ms:.1f} ms" for mode, ms in figures.items())
        print(f"{url.split(':')[0]}: {shown} per {BATCH}-outcome batch")


if __name__ == "__main__":
    main(sys.argv[1:])
