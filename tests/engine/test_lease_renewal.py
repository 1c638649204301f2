"""Leases held longer than their length: renewed while held, dropped once stolen.

Each test runs a real node (scheduler, dispatcher, maintenance reclaiming expired leases
every quarter of a 1 s lease) on SQLite and on PostgreSQL, firing into a sink on
127.0.0.1. Without renewal, a 3 s request on a 1 s lease is reclaimed mid-flight and
sent a second time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.delivery.client import create_session
from onewatch.domain.retry import system_random
from onewatch.engine.attempt import AttemptTools
from onewatch.engine.dispatcher import Dispatcher
from onewatch.engine.maintenance import run_maintenance
from onewatch.engine.roles import background_roles, run_scheduler, table_source
from onewatch.runtime import Runtime
from onewatch.store.records import Outcome
from onewatch.store.schema import deliveries
from tests.engine.support import (
    Sink,
    add_event,
    attempts_of,
    deliveries_of,
    make_runtime,
    rows,
    settings_for,
    utcnow,
    wait_for,
)

LEASE_SECONDS = 1.0
THIEF = "another-node"


@pytest.fixture
async def start_node(
    store_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """Makes the node on each backend, with a 1 s lease; roles not started yet."""
    nodes: list[Runtime] = []

    async def make(**overrides: Any) -> Runtime:
        settings = settings_for(
            tmp_path,
            database_url=store_url,
            dispatcher_lease_seconds=LEASE_SECONDS,
            http_total_timeout_seconds=10.0,
            **overrides,
        )
        nodes.append(await make_runtime(settings))
        return nodes[-1]

    try:
        yield make
    finally:
        for runtime in nodes:
            await runtime.stop()


class DispatcherRole:
    """The dispatcher role as ``engine.roles`` wires it, keeping the ``Dispatcher`` at
    hand so the test can see what it holds."""

    def __init__(self) -> None:
        self.dispatcher: Dispatcher | None = None

    async def __call__(self, runtime: Runtime, stop: asyncio.Event) -> None:
        settings = runtime.settings
        async with create_session(settings) as session:
            tools = AttemptTools(
                session=session,
                clock=runtime.clock,
                rng=system_random(),
                metrics=runtime.metrics,
                excerpt_bytes=settings.response_excerpt_bytes,
                connect_timeout=settings.http_connect_timeout_seconds,
            )
            self.dispatcher = Dispatcher(runtime, table_source(runtime), tools)
            await asyncio.gather(self.dispatcher.run(stop), run_maintenance(runtime, stop))

    @property
    def held(self) -> dict[str, Any]:
        return {} if self.dispatcher is None else dict(self.dispatcher.held)


async def _one_shot(runtime: Runtime, sink: Sink, path: str, due_in: float) -> int:
    event_id = await add_event(
        runtime.store.engine,
        key=path.strip("/"),
        pattern=(utcnow() + timedelta(seconds=due_in)).isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}{path}"},
    )
    runtime.wakeup.notify()
    return event_id


async def _delivery_id(engine: AsyncEngine, event_id: int) -> str:
    async def created() -> bool:
        return len(await deliveries_of(engine, event_id)) == 1

    await wait_for(created, what="the delivery to be created")
    (row,) = await deliveries_of(engine, event_id)
    return str(row["id"])


async def steal(engine: AsyncEngine, delivery_id: str) -> None:
    """What another node's claim leaves on the row: its own token and lease."""
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == "running")
        .values(lease_token=THIEF, locked_until=utcnow() + timedelta(minutes=5))
    )
    async with engine.begin() as connection:
        assert (await connection.execute(statement)).rowcount == 1


async def _statuses(engine: AsyncEngine) -> Counter[str]:
    return Counter(row["status"] for row in await rows(engine, deliveries))


async def test_a_send_longer_than_the_lease_goes_out_once(
    start_node: Callable[..., Awaitable[Runtime]], sink: Sink
) -> None:
    # Claimed at most 1 s (the look-ahead) before due: the claim's lease covers 2 s.
    node = await start_node()
    await node.start(background_roles())
    for index in range(3):
        sink.delays[f"/slow/{index}"] = 3.0
        await _one_shot(node, sink, f"/slow/{index}", due_in=2.0)

    async def all_succeeded() -> bool:
        return await _statuses(node.store.engine) == {"succeeded": 3}

    await wait_for(all_succeeded, seconds=30, what="every delivery to succeed")
    per_id = Counter(request.headers["webhook-id"] for request in sink.received)
    assert len(per_id) == 3 and set(per_id.values()) == {1}, "each sent exactly once"
    for delivery_id in per_id:
        attempts = await attempts_of(node.store.engine, delivery_id)
        assert [a["outcome"] for a in attempts] == ["succeeded"], "never reclaimed"


async def test_a_stolen_lease_is_dropped_unsent(
    start_node: Callable[..., Awaitable[Runtime]], sink: Sink
) -> None:
    # Created and claimed seconds before they are due: held longer than a lease.
    node = await start_node(scheduler_lookahead_seconds=5.0, dispatcher_lookahead_seconds=5.0)
    role = DispatcherRole()
    await node.start({"scheduler": run_scheduler, "dispatcher": role})
    stolen = await _delivery_id(
        node.store.engine, await _one_shot(node, sink, "/stolen", due_in=3.0)
    )
    await wait_for(lambda: stolen in role.held, what="the delivery to be held")

    with structlog.testing.capture_logs() as logs:
        await steal(node.store.engine, stolen)
        await wait_for(lambda: stolen not in role.held, what="the renewal to drop it")
    assert any(
        entry["event"] == "lease lost before sending; dropped unsent"
        and entry["delivery_id"] == stolen
        for entry in logs
    )
    # A delivery due after the stolen one is sent: its instant passed on a live node.
    await _one_shot(node, sink, "/after", due_in=0.5)
    await wait_for(lambda: len(sink.on("/after")) == 1, seconds=15, what="a later delivery")
    assert sink.on("/stolen") == [], "not sent by the node that lost it"
    (row,) = await rows(node.store.engine, deliveries, deliveries.c.id == stolen)
    assert (row["status"], row["lease_token"]) == ("running", THIEF), "the new holder's row"
    assert await attempts_of(node.store.engine, stolen) == []


def _thiefs_success(delivery_id: str) -> Outcome:
    now = utcnow()
    return Outcome(
        delivery_id=delivery_id,
        lease_token=THIEF,
        attempt=1,
        status="succeeded",
        next_attempt_at=now,
        started_at=now,
        latency_ms=5,
        status_code=200,
        attempt_outcome="succeeded",
        response_excerpt="ok",
        error=None,
        finished_at=now,
    )


async def test_a_lease_stolen_mid_request_is_not_recorded_twice(
    start_node: Callable[..., Awaitable[Runtime]], sink: Sink
) -> None:
    node = await start_node()
    sink.delays["/slow"] = 2.0
    role = DispatcherRole()
    await node.start({"scheduler": run_scheduler, "dispatcher": role})
    with structlog.testing.capture_logs() as logs:
        ident = await _delivery_id(
            node.store.engine, await _one_shot(node, sink, "/slow", due_in=0.5)
        )
        await wait_for(lambda: len(sink.on("/slow")) == 1, what="the request to be in flight")
        await steal(node.store.engine, ident)
        await wait_for(lambda: role.held == {}, seconds=15, what="the refused result")
    assert any(
        entry["event"] == "lease lost before the result was recorded"
        and entry["delivery_id"] == ident
        for entry in logs
    ), "the refused result is logged"
    (row,) = await rows(node.store.engine, deliveries, deliveries.c.id == ident)
    assert (row["status"], row["lease_token"], row["attempts"]) == ("running", THIEF, 0)
    assert await attempts_of(node.store.engine, ident) == []
    outcome_counted = node.metrics.registry.get_sample_value(
        "onewatch_deliveries_total", {"outcome": "succeeded"}
    )
    assert not outcome_counted, "the refused result is not counted"

    # The new holder records its own attempt: one attempt in all, counted once.
    assert await node.store.record_outcomes([_thiefs_success(ident)], now=utcnow())
    (row,) = await rows(node.store.engine, deliveries, deliveries.c.id == ident)
    assert (row["status"], row["attempts"]) == ("succeeded", 1)
    assert len(await attempts_of(node.store.engine, ident)) == 1
    assert role.dispatcher is not None and len(sink.on("/slow")) == 1
