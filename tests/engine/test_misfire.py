"""After downtime, each event's misfire policy decides what the missed fires become."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from onewatch.engine.scheduler import Scheduler
from tests.engine.support import (
    ManualClock,
    add_event,
    deliveries_of,
    event_row,
    make_runtime,
    settings_for,
)


def _at(minute: int, second: int = 0) -> datetime:
    return datetime(2030, 1, 1, 0, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("policy", "fired_minutes"),
    [
        ("fire_once", [9, 10]),  # one for the missed span (its last), then the on-time 00:10
        ("fire_all", [5, 6, 7, 8, 9, 10]),
        ("skip", [10]),
    ],
)
async def test_missed_fires_after_a_restart(
    tmp_path: Path, policy: str, fired_minutes: list[int]
) -> None:
    settings = settings_for(tmp_path)
    # Before the outage: the event is stored, due at 00:05; the node stops at 00:04:30.
    clock = ManualClock(_at(4, 30))
    first = await make_runtime(settings, clock)
    event_id = await add_event(
        first.store.engine,
        key="every-minute",
        pattern="* * * * *",
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/unused"},
        misfire_policy=policy,
        misfire_grace_seconds=60,
        after=clock.now(),
        now=clock.now(),
    )
    assert not (await Scheduler(first).fire_once())
    assert await deliveries_of(first.store.engine, event_id) == []
    await first.stop()

    # Back at 00:10:30: 00:05..00:09 were missed; 00:10 is within the 60 s grace.
    clock.moment = _at(10, 30)
    second = await make_runtime(settings, clock)
    try:
        await Scheduler(second).fire_once()
        rows = await deliveries_of(second.store.engine, event_id)
        assert [row["scheduled_for"] for row in rows] == [_at(m) for m in fired_minutes]
        assert all(row["status"] == "pending" for row in rows)
        event = await event_row(second.store.engine, event_id)
        assert event["next_occurrence"] == _at(11)
        assert event["occurrences"] == 6
        # A second scheduler pass at the same instant changes nothing.
        await Scheduler(second).fire_once()
        assert len(await deliveries_of(second.store.engine, event_id)) == len(fired_minutes)
    finally:
        await second.stop()


async def test_fire_all_is_capped(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, misfire_fire_all_cap=3)
    clock = ManualClock(_at(30))
    runtime = await make_runtime(settings, clock)
    try:
        event_id = await add_event(
            runtime.store.engine,
            key="capped",
            pattern="* * * * *",
            target_type="webhook",
            target={"endpoint": "http://127.0.0.1:9/unused"},
            misfire_policy="fire_all",
            misfire_grace_seconds=0,
            after=_at(0),
            now=_at(0),
        )
        await Scheduler(runtime).fire_once()
        rows = await deliveries_of(runtime.store.engine, event_id)
        # 00:01..00:29 missed (the cap keeps the last three), 00:30 is on time.
        assert [row["scheduled_for"] for row in rows] == [_at(27), _at(28), _at(29), _at(30)]
    finally:
        await runtime.stop()
