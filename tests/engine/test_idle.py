"""An idle node only looks: no claim of events or deliveries, no empty checkpoints.

Its polls still find what no wake-up announced (a change made by another process).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.maintenance import checkpoint_once
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import (
    ManualClock,
    Sink,
    add_delivery,
    add_event,
    make_runtime,
    settings_for,
    wait_for,
)

START = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
#: Polls this short make a few hundred milliseconds enough for many idle passes.
FAST_POLLS = {"scheduler_max_idle_seconds": 0.02, "dispatcher_poll_seconds": 0.02}


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", record)


def _counting(seen: list[str], *fragments: str) -> int:
    return sum(1 for statement in seen if all(part in statement for part in fragments))


async def _polled(runtime: Runtime, alarm: str, role: str) -> None:
    """Return once ``role`` has read its ``alarm`` three times while nothing was due."""
    with statements(runtime.store.engine) as seen:
        await wait_for(lambda: _counting(seen, alarm) >= 3, what=f"{role} polling, idle")


async def _add_yearly(runtime: Runtime, key: str, endpoint: str = "http://127.0.0.1:9/") -> int:
    """An event next due months away (at the next New Year after the runtime's now)."""
    now = runtime.clock.now()
    return await add_event(
        runtime.store.engine,
        key=key,
        pattern="0 0 1 1 *",
        target_type="webhook",
        target={"endpoint": endpoint},
        after=now,
        now=now,
    )


async def test_an_idle_node_reads_its_alarms_and_claims_nothing(tmp_path: Path) -> None:
    clock = ManualClock(START)
    runtime = await make_runtime(settings_for(tmp_path, **FAST_POLLS), clock)
    await _add_yearly(runtime, "yearly")
    with statements(runtime.store.engine) as seen:
        await runtime.start(background_roles())
        try:
            await wait_for(
                lambda: (
                    _counting(seen, "ORDER BY events.next_occurrence") >= 20
                    and _counting(seen, "ORDER BY deliveries.next_attempt_at") >= 20
                ),
                what="twenty polls of each alarm",
            )
        finally:
            await runtime.stop()
    claims_of_events = _counting(seen, "FROM events", "events.next_occurrence <=")
    leases = _counting(seen, "UPDATE deliveries", "lease_token")
    assert (claims_of_events, leases) == (0, 0), [s for s in seen if "UPDATE" in s][:3]


async def test_a_poll_finds_an_event_no_wake_up_announced(tmp_path: Path, sink: Sink) -> None:
    clock = ManualClock(START)
    runtime = await make_runtime(settings_for(tmp_path, **FAST_POLLS), clock)
    await add_event(
        runtime.store.engine,
        key="minutely",
        pattern="* * * * *",
        target_type="webhook",
        target={"endpoint": f"{sink.base}/minutely"},
        after=clock.now(),
        now=clock.now(),
    )
    await runtime.start(background_roles())
    try:
        await _polled(runtime, "ORDER BY events.next_occurrence", "the scheduler")
        clock.moment = START + timedelta(seconds=30)  # the minute is due; nobody says so
        await wait_for(lambda: len(sink.on("/minutely")) == 1, what="the polled fire")
    finally:
        await runtime.stop()


async def test_a_poll_finds_a_delivery_no_wake_up_announced(tmp_path: Path, sink: Sink) -> None:
    runtime = await make_runtime(settings_for(tmp_path, **FAST_POLLS))
    event_id = await _add_yearly(runtime, "yearly", f"{sink.base}/written-elsewhere")
    await runtime.start(background_roles())
    try:
        await _polled(runtime, "ORDER BY deliveries.next_attempt_at", "the dispatcher")
        await add_delivery(  # as another process would, without a wake-up
            runtime.store.engine,
            ident="written-elsewhere",
            event_id=event_id,
            event_key="yearly",
            due=datetime.now(UTC),
        )
        await wait_for(lambda: len(sink.on("/written-elsewhere")) == 1, what="the polled send")
    finally:
        await runtime.stop()


async def _wal_frames_not_checkpointed(runtime: Runtime) -> int:
    async with runtime.store.engine.connect() as connection:
        _busy, frames, copied = (
            await connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
        ).one()
    return int(frames) - int(copied)


async def test_the_checkpoint_runs_only_after_writes(tmp_path: Path) -> None:
    runtime = await make_runtime(settings_for(tmp_path))
    checkpoint = checkpoint_once
    try:
        await _add_yearly(runtime, "first")
        assert await checkpoint(runtime) == 1
        assert await _wal_frames_not_checkpointed(runtime) == 0
        assert await checkpoint(runtime) == 0, "nothing was written since the last one"
        await _add_yearly(runtime, "second")
        assert await checkpoint(runtime) == 1
    finally:
        await runtime.stop()
