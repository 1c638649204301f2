"""Overlap policies against a slow real target, on SQLite and on PostgreSQL.

The target is an HTTP server on 127.0.0.1 that holds every request until the test opens
its gate, so the event's previous delivery is genuinely still running when the next
occurrence comes due. The scheduler is driven by hand on a manual clock (one pass per
occurrence); the dispatcher runs for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import update

from onewatch.engine.roles import background_roles
from onewatch.engine.scheduler import Scheduler
from onewatch.runtime import Runtime
from onewatch.store.records import DeliveryFilter
from onewatch.store.schema import events
from tests.engine.support import (
    ManualClock,
    Sink,
    add_event,
    deliveries_of,
    make_runtime,
    settings_for,
    wait_for,
)


def _at(minute: int) -> datetime:
    return datetime(2030, 1, 1, 0, minute, tzinfo=UTC)


class HeldTarget:
    """Answers ``/held`` only once the gate is open; records each request's webhook-id."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.sink = Sink()
        self.arrived: list[str] = []
        #: Statuses to answer with, in order; 200 once they run out.
        self.statuses: list[int] = []

    async def _held(self, request: web.Request) -> web.Response:
        self.arrived.append(request.headers["webhook-id"])
        await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="done")

    async def start(self) -> HeldTarget:
        await self.sink.start(lambda app: app.router.add_post("/held", self._held))
        return self

    @property
    def url(self) -> str:
        return f"{self.sink.base}/held"


@pytest.fixture
async def target() -> AsyncIterator[HeldTarget]:
    server = await HeldTarget().start()
    try:
        yield server
    finally:
        server.gate.set()
        await server.sink.stop()


@pytest.fixture
async def node(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A dispatcher on each backend, on a manual clock; leases far outlast the minutes the
    test moves the clock by, and a held request is not timed out meanwhile."""
    settings = settings_for(
        tmp_path,
        database_url=store_url,
        roles=["dispatcher"],
        dispatcher_lease_seconds=3600.0,
        http_total_timeout_seconds=60.0,
    )
    runtime = await make_runtime(settings, ManualClock(_at(0)))
    await runtime.start(background_roles())
    try:
        yield runtime
    finally:
        await runtime.stop()


async def _event(runtime: Runtime, target: HeldTarget, overlap: str) -> int:
    return await add_event(
        runtime.store.engine,
        key=f"every-minute-{overlap}",
        pattern="* * * * *",
        target_type="webhook",
        target={"endpoint": target.url},
        overlap=overlap,
        after=_at(0),
        now=_at(0),
    )


async def _fire_at(runtime: Runtime, minute: int) -> None:
    runtime.clock.moment = _at(minute)  # type: ignore[attr-defined]
    await Scheduler(runtime).fire_once()


async def _statuses(runtime: Runtime, event_id: int) -> list[str]:
    return [row["status"] for row in await deliveries_of(runtime.store.engine, event_id)]


def _skipped_count(runtime: Runtime, reason: str) -> float:
    """``onewatch_occurrences_skipped_total`` of the billing service for ``reason``."""
    labels = {"service": "billing", "reason": reason}
    found = runtime.metrics.registry.get_sample_value("onewatch_occurrences_skipped_total", labels)
    return found or 0.0


def _buffered_count(runtime: Runtime) -> float:
    name = "onewatch_occurrences_buffered_total"
    return runtime.metrics.registry.get_sample_value(name, {"service": "billing"}) or 0.0


async def _wait_statuses(runtime: Runtime, event_id: int, expected: list[str]) -> None:
    async def reached() -> bool:
        return await _statuses(runtime, event_id) == expected

    await wait_for(reached, what=f"statuses {expected}")


async def test_skip_records_an_occurrence_due_while_the_previous_one_runs(
    node: Runtime, target: HeldTarget
) -> None:
    event_id = await _event(node, target, "skip")
    await _fire_at(node, 1)
    await wait_for(lambda: len(target.arrived) == 1, what="the first delivery sent")
    first = (await deliveries_of(node.store.engine, event_id))[0]

    await _fire_at(node, 2)  # the 00:01 delivery is still running: 00:02 is skipped
    rows = await deliveries_of(node.store.engine, event_id)
    assert [row["status"] for row in rows] == ["running", "skipped"]
    skipped = rows[1]
    assert skipped["scheduled_for"] == _at(2)
    assert skipped["skip_reason"] == f"overlap skip: delivery {first['id']} is still unfinished"
    assert skipped["finished_at"] is not None
    assert _skipped_count(node, "previous_unfinished") == 1
    assert _buffered_count(node) == 0
    # Visible in the deliveries listing (what GET /v1/deliveries answers from).
    (listed, _) = await node.store.list_deliveries(DeliveryFilter(event_id=event_id))
    assert (listed.status, listed.skip_reason) == ("skipped", skipped["skip_reason"])

    target.gate.set()
    await _wait_statuses(node, event_id, ["succeeded", "skipped"])
    await _fire_at(node, 3)  # nothing unfinished any more: sent
    await _wait_statuses(node, event_id, ["succeeded", "skipped", "succeeded"])
    assert skipped["id"] not in target.arrived
    assert len(target.arrived) == 2
    assert _skipped_count(node, "previous_unfinished") == 1, "the one sent is not counted"


async def test_buffer_one_waits_behind_the_running_one_and_skips_a_third(
    node: Runtime, target: HeldTarget
) -> None:
    event_id = await _event(node, target, "buffer_one")
    await _fire_at(node, 1)
    await wait_for(lambda: len(target.arrived) == 1, what="the first delivery sent")
    await _fire_at(node, 2)
    await _fire_at(node, 3)
    rows = await deliveries_of(node.store.engine, event_id)
    assert [row["status"] for row in rows] == ["running", "buffered", "skipped"]
    first, buffered, skipped = rows
    assert skipped["skip_reason"] == (
        f"overlap buffer_one: delivery {buffered['id']} already waits for delivery {first['id']}"
    )
    assert target.arrived == [first["id"]], "the buffered one is not sent yet"
    assert _buffered_count(node) == 1
    assert _skipped_count(node, "one_already_buffered") == 1
    assert _skipped_count(node, "previous_unfinished") == 0

    # The first finishes: the transaction recording it releases the buffered one.
    target.gate.set()
    await _wait_statuses(node, event_id, ["succeeded", "succeeded", "skipped"])
    assert target.arrived == [first["id"], buffered["id"]]


async def test_buffer_one_releases_behind_a_dead_delivery_too(
    node: Runtime, target: HeldTarget
) -> None:
    """A final failure also ends the previous delivery: the buffered one goes then."""
    target.statuses = [404]  # final at once: the first delivery dies
    event_id = await _event(node, target, "buffer_one")
    await _fire_at(node, 1)
    await wait_for(lambda: len(target.arrived) == 1, what="the first delivery sent")
    await _fire_at(node, 2)
    assert await _statuses(node, event_id) == ["running", "buffered"]
    target.gate.set()
    await _wait_statuses(node, event_id, ["dead", "succeeded"])
    assert len(target.arrived) == 2


async def test_a_skipped_occurrence_fired_again_is_counted_once(
    node: Runtime, target: HeldTarget
) -> None:
    """An event changed after its look-ahead fire comes due at an instant already fired:
    the second insert of that occurrence is a no-op, and so is its count."""
    event_id = await _event(node, target, "skip")
    await _fire_at(node, 1)
    await wait_for(lambda: len(target.arrived) == 1, what="the first delivery sent")
    await _fire_at(node, 2)
    assert _skipped_count(node, "previous_unfinished") == 1
    async with node.store.engine.begin() as connection:
        await connection.execute(
            update(events).where(events.c.id == event_id).values(next_occurrence=_at(2))
        )
    await _fire_at(node, 2)  # decided "skipped" again, but the row is already there
    assert await _statuses(node, event_id) == ["running", "skipped"]
    assert _skipped_count(node, "previous_unfinished") == 1


async def test_two_schedulers_count_each_skipped_occurrence_once_between_them(
    node: Runtime, target: HeldTarget, store_url: str, tmp_path: Path
) -> None:
    """Two nodes fire the same store at once: each skipped occurrence is counted by the
    node whose transaction stored it, so the sum over nodes is the number of rows."""
    other = await make_runtime(
        settings_for(tmp_path / "other", database_url=store_url, roles=["scheduler"]),
        node.clock,
    )
    try:
        event_id = await _event(node, target, "skip")
        await _fire_at(node, 1)
        await wait_for(lambda: len(target.arrived) == 1, what="the first delivery sent")
        for minute in (2, 3, 4):
            node.clock.moment = _at(minute)  # type: ignore[attr-defined]
            await asyncio.gather(Scheduler(node).fire_once(), Scheduler(other).fire_once())
        statuses = await _statuses(node, event_id)
        assert statuses == ["running", "skipped", "skipped", "skipped"]
        counted = [_skipped_count(runtime, "previous_unfinished") for runtime in (node, other)]
        assert sum(counted) == 3, counted
    finally:
        await other.stop()
