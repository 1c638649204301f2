"""Jitter on each backend: the delivery is due at its nominal instant plus the event's
offset, its identity stays the nominal instant, and every pass agrees on the offset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onewatch.domain.jitter import jittered
from onewatch.engine.scheduler import Scheduler
from onewatch.runtime import Runtime
from tests.engine.support import ManualClock, add_event, deliveries_of, make_runtime, settings_for

JITTER = 600


def _at(minute: int) -> datetime:
    return datetime(2030, 1, 1, 0, minute, tzinfo=UTC)


@pytest.fixture
async def node(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = settings_for(tmp_path, database_url=store_url, roles=["scheduler"])
    runtime = await make_runtime(settings, ManualClock(_at(0)))
    try:
        yield runtime
    finally:
        await runtime.stop()


async def test_each_delivery_is_due_at_its_offset_never_before_its_instant(node: Runtime) -> None:
    ids = [
        await add_event(
            node.store.engine,
            key=f"spread-{n}",
            pattern="*/5 * * * *",
            target_type="webhook",
            target={"endpoint": "http://127.0.0.1:9/unused"},
            jitter_seconds=JITTER,
            after=_at(0),
            now=_at(0),
        )
        for n in range(5)
    ]
    node.clock.moment = _at(5)  # type: ignore[attr-defined]
    await Scheduler(node).fire_once()
    dues = []
    for n, event_id in enumerate(ids):
        (row,) = await deliveries_of(node.store.engine, event_id)
        assert row["scheduled_for"] == _at(5), "the occurrence keeps its nominal instant"
        assert _at(5) <= row["next_attempt_at"] <= _at(5) + timedelta(seconds=JITTER)
        assert row["next_attempt_at"] == jittered("billing", f"spread-{n}", _at(5), JITTER)
        dues.append(row["next_attempt_at"])
    assert len(set(dues)) == len(dues), "events sharing a pattern are spread out"


async def test_a_second_pass_creates_no_duplicate_and_agrees(node: Runtime) -> None:
    event_id = await add_event(
        node.store.engine,
        key="nightly",
        pattern="*/5 * * * *",
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/unused"},
        jitter_seconds=JITTER,
        misfire_policy="fire_all",
        misfire_grace_seconds=3600,
        after=_at(0),
        now=_at(0),
    )
    node.clock.moment = _at(10)  # type: ignore[attr-defined]
    await Scheduler(node).fire_once()
    await Scheduler(node).fire_once()
    rows = await deliveries_of(node.store.engine, event_id)
    assert [row["scheduled_for"] for row in rows] == [_at(5), _at(10)]
    for row in rows:
        nominal = row["scheduled_for"]
        assert row["next_attempt_at"] == jittered("billing", "nightly", nominal, JITTER)
