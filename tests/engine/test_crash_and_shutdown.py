"""A worker killed mid-dispatch loses nothing; one told to stop drains or releases."""

from __future__ import annotations

import json
import signal
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


async def _events(engine: AsyncEngine, sink: Sink, path: str, count: int, due_in: float) -> None:
    due = utcnow() + timedelta(seconds=due_in)
    for index in range(count):
        await add_event(
            engine,
            key=f"{path.strip('/')}-{index}",
            pattern=due.isoformat(),
            target_type="webhook",
            target={"endpoint": f"{sink.base}{path}"},
        )


async def test_kill_9_mid_dispatch_then_restart(tmp_path: Path, sink: Sink) -> None:
    settings = settings_for(tmp_path)
    engine = await migrated_engine(settings)
    await _events(engine, sink, "/inflight", 30, due_in=1.0)
    await _events(engine, sink, "/later", 10, due_in=3.0)
    sink.delays["/inflight"] = 3.0
    env = worker_env(settings, ONEWATCH_DISPATCHER_LEASE_SECONDS="1")
    first = await start_worker(env, tmp_path / "worker.log")
    try:
        await wait_for(lambda: len(sink.on("/inflight")) == 30, seconds=20, what="30 in flight")
    finally:
        first.kill()  # SIGKILL: no clean-up at all
        await first.wait()
    # Leased by the dead worker: the only ones it may have sent without recording.
    in_flight = {row["id"] for row in await rows(engine, deliveries) if row["status"] == "running"}
    assert {r.headers["webhook-id"] for r in sink.on("/inflight")} <= in_flight
    sink.delays.clear()

    second = await start_worker(env, tmp_path / "worker.log")
    try:

        async def all_succeeded() -> bool:
            found = await rows(engine, deliveries)
            return len(found) == 40 and all(row["status"] == "succeeded" for row in found)

        await wait_for(all_succeeded, seconds=30, what="every delivery to succeed")
    finally:
        second.send_signal(signal.SIGTERM)
        assert await wait_exit(second, 15) == 0

    per_id = Counter(r.headers["webhook-id"] for r in sink.received)
    assert len(per_id) == 40, "every due occurrence delivered"
    doubled = {ident for ident, count in per_id.items() if count > 1}
    assert max(per_id.values()) <= 2
    assert doubled <= in_flight, "only requests in flight at the kill were sent twice"
    resent = next(iter(doubled))
    attempts = await attempts_of(engine, resent)
    assert [a["outcome"] for a in attempts] == ["abandoned", "succeeded"]
    await engine.dispose()


async def test_sigterm_drains_in_flight_and_releases_the_rest(tmp_path: Path, sink: Sink) -> None:
    settings = settings_for(tmp_path)
    engine = await migrated_engine(settings)
    await _events(engine, sink, "/quick", 5, due_in=0.5)
    await _events(engine, sink, "/stuck", 3, due_in=0.5)
    sink.delays.update({"/quick": 0.5, "/stuck": 30.0})
    env = worker_env(
        settings, ONEWATCH_DISPATCHER_SHUTDOWN_GRACE_SECONDS="2", ONEWATCH_LOG_LEVEL="DEBUG"
    )
    worker = await start_worker(env, tmp_path / "worker.log")
    try:
        await wait_for(lambda: len(sink.received) == 8, seconds=20, what="8 requests")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await wait_exit(worker, 15) == 0

    found = await rows(engine, deliveries)
    by_key = {row["event_key"]: row for row in found}
    for index in range(5):
        assert by_key[f"quick-{index}"]["status"] == "succeeded", "finished within the grace"
    for index in range(3):
        stuck = by_key[f"stuck-{index}"]
        assert stuck["status"] == "pending", "released for another dispatcher"
        assert stuck["lease_token"] is None
        assert stuck["locked_until"] is None
    lines = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()]
    recorded = {line.get("delivery_id") for line in lines if line["event"] == "attempt recorded"}
    assert recorded == {by_key[f"quick-{index}"]["id"] for index in range(5)}
    await engine.dispose()
