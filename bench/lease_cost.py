"""What keeping a node's hand alive costs: renewing every lease, or one heartbeat.

``python -m bench.lease_cost``: on a fresh SQLite file and a fresh PostgreSQL database,
``HELD`` deliveries are claimed by one node, then timed: ``extend_leases`` over all of
them (what short leases would need every second or so to take over within seconds) and
``nodes.beat`` (what the heartbeat take-over needs, whatever the node holds). Prints the
median of ``ROUNDS`` of each, in milliseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import postgres
from bench.onewatch_store import event_row, one_shots, sqlite_url
from onewatch.store import open_store
from onewatch.store.ids import new_delivery_id
from onewatch.store.records import this_node
from onewatch.store.schema import deliveries, events

#: The dispatcher's default ``dispatcher_max_held``: a busy node's whole hand.
HELD = 2000
ROUNDS = 20


async def _fill(engine: AsyncEngine, now: datetime) -> None:
    event = next(one_shots("lease-cost", [now]))
    async with engine.begin() as connection:
        result = await connection.execute(
            insert(events).returning(events.c.id), [event_row(event, "http://127.0.0.1:9/", now)]
        )
        event_id = result.scalar_one()
        rows = [
            {
                "id": new_delivery_id(),
                "event_id": event_id,
                "service": "bench",
                "event_key": event.key,
                "scheduled_for": now - timedelta(microseconds=index),
                "status": "pending",
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for index in range(HELD)
        ]
        await connection.execute(insert(deliveries), rows)


async def _median_ms(work: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(url: str) -> dict[str, float]:
    store = open_store(url)
    try:
        await store.migrate()
        now = datetime.now(UTC)
        await _fill(store.engine, now)
        node = this_node("lease-cost", ["dispatcher"], now)
        await store.register_node(node)
        held = await store.claim_ready(
            now=now, horizon=now, limit=HELD, lease_seconds=60, holder=node.id
        )
        tokens = {item.id: item.lease_token for item in held}
        renew = await _median_ms(
            lambda: store.extend_leases(tokens, now=datetime.now(UTC), lease_seconds=3)
        )
        heartbeat = await _median_ms(lambda: store.beat(node.id, datetime.now(UTC)))
        return {"held": len(tokens), "renew_all_ms": renew, "heartbeat_ms": heartbeat}
    finally:
        await store.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print("sqlite", asyncio.run(measure(sqlite_url(Path(folder)))))
    name = postgres.database_name("lease_cost")
    try:
        print("postgres", asyncio.run(measure(postgres.create(name))))
    finally:
        postgres.drop(name)


if __name__ == "__main__":
    main()
