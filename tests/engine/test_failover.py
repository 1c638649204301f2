"""A single SQLite node killed with SIGKILL and restarted (same data folder, a new
process with a new node id) takes over its predecessor's leased deliveries within
seconds: the predecessor's heartbeat row goes stale, long before the 60 s lease ends."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.schema import deliveries
from tests.engine.processes import start_worker, wait_exit, worker_env
from tests.engine.support import (
    Sink,
    add_event,
    attempts_of,
    migrated_engine,
    rows,
    settings_for,
    utcnow,
    wait_for,
)

#: The default lease: waiting it out would take a minute.
LEASE_SECONDS = 60.0
#: Far below the lease: only a take-over on the stale heartbeat meets it.
TAKEOVER_DEADLINE = 20.0
COUNT = 20


async def _events(engine: AsyncEngine, sink: Sink, count: int) -> None:
    due = utcnow() + timedelta(seconds=1)
    for index in range(count):
        await add_event(
            engine,
            key=f"restart-{index}",
            pattern=due.isoformat(),
            target_type="webhook",
            target={"endpoint": f"{sink.base}/restart"},
        )


async def test_a_restarted_node_takes_over_its_predecessors_leases_within_seconds(
    tmp_path: Path, sink: Sink
) -> None:
    settings = settings_for(tmp_path, dispatcher_lease_seconds=LEASE_SECONDS)
    engine = await migrated_engine(settings)
    await _events(engine, sink, COUNT)
    sink.delays["/restart"] = 30.0  # the first node dies with every request in flight
    env = worker_env(settings, ONEWATCH_DISPATCHER_LEASE_SECONDS=str(LEASE_SECONDS))
    first = await start_worker(env, tmp_path / "worker.log")
    try:
        await wait_for(lambda: len(sink.on("/restart")) == COUNT, seconds=20, what="all in flight")
    finally:
        first.kill()
        await first.wait()
    in_flight = {row["id"] for row in await rows(engine, deliveries) if row["status"] == "running"}
    assert len(in_flight) == COUNT
    sink.delays.clear()
    killed_at = time.monotonic()

    second = await start_worker(env, tmp_path / "worker.log")
    try:

        async def all_succeeded() -> bool:
            found = await rows(engine, deliveries)
            return len(found) == COUNT and all(row["status"] == "succeeded" for row in found)

        await wait_for(all_succeeded, seconds=TAKEOVER_DEADLINE, what="the take-over")
        print(f"taken over and delivered {time.monotonic() - killed_at:.1f} s after the kill")
    finally:
        second.send_signal(signal.SIGTERM)
        assert await wait_exit(second, 15) == 0

    per_id = Counter(r.headers["webhook-id"] for r in sink.received)
    assert set(per_id) == in_flight and set(per_id.values()) == {2}, "each in flight, resent once"
    attempts = await attempts_of(engine, next(iter(in_flight)))
    assert [a["outcome"] for a in attempts] == ["abandoned", "succeeded"]
    assert "stopped heartbeating" in (attempts[0]["error"] or "")
    await engine.dispose()
