"""A hanging target delays only its own service, on SQLite and on PostgreSQL.

One real HTTP server on 127.0.0.1 serves both services (the hard case: one host and
port): its handler holds service A's path for an hour and answers service B's at once.
B's deliveries must all be delivered while A's requests are still hanging.

* Connections: aiohttp's per-host pool limit is node-wide, so A's hanging requests used
  to take every connection to the host and B's waited behind them in the pool's queue.
* Held deliveries: a claim takes the earliest due rows whoever they belong to, so A's
  backlog (all due before B's) used to fill the dispatcher's held set with deliveries
  waiting for one of A's slots, and B's were never claimed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from onewatch.store.schema import deliveries
from tests.engine.support import (
    Sink,
    add_event,
    deliveries_of,
    make_runtime,
    settings_for,
    utcnow,
    wait_for,
)

HANG_SECONDS = 3600.0
#: Far shorter than A's hang, and than the bounded wait for a slot (half the 30 s lease)
#: after which a held delivery is given back.
DEADLINE_SECONDS = 10.0


@pytest.fixture
async def start_node(
    store_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """Starts a node on each backend; A's hang outlasts the test's deadline by far."""
    nodes: list[Runtime] = []

    async def start(**overrides: Any) -> Runtime:
        settings = settings_for(
            tmp_path,
            database_url=store_url,
            http_total_timeout_seconds=HANG_SECONDS,
            **overrides,
        )
        nodes.append(await make_runtime(settings))
        await nodes[-1].start(background_roles())
        return nodes[-1]

    try:
        yield start
    finally:
        for runtime in nodes:
            await runtime.stop()


async def _due(engine: AsyncEngine, sink: Sink, service: str, count: int, due: datetime) -> int:
    """``count`` pending deliveries of one event of ``service``, all due at ``due``."""
    event_id = await add_event(
        engine,
        key=f"{service}-event",
        service=service,
        pattern="2099-01-01T00:00:00Z",  # the scheduler makes none: the rows below are it
        target_type="webhook",
        target={"endpoint": f"{sink.base}/{service}"},
    )
    rows = [
        {
            "id": f"{service}-{index:05d}",
            "event_id": event_id,
            "service": service,
            "event_key": f"{service}-event",
            "scheduled_for": due + timedelta(microseconds=index),
            "status": "pending",
            "next_attempt_at": due,
            "created_at": due,
            "updated_at": due,
        }
        for index in range(count)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(deliveries), rows)
    return event_id


async def _statuses(engine: AsyncEngine, event_id: int) -> list[str]:
    return [row["status"] for row in await deliveries_of(engine, event_id)]


async def _b_delivered_while_a_hangs(
    runtime: Runtime, sink: Sink, hanging: int, healthy: int, *, a_first_by: float
) -> None:
    sink.delays["/a"] = HANG_SECONDS
    now = utcnow()
    a_event = await _due(
        runtime.store.engine, sink, "a", hanging, now - timedelta(seconds=a_first_by)
    )
    await wait_for(lambda: len(sink.on("/a")) > 0, what="A's requests to reach the target")
    b_event = await _due(runtime.store.engine, sink, "b", healthy, now)
    runtime.dispatch_wakeup.notify()

    async def b_delivered() -> bool:
        return await _statuses(runtime.store.engine, b_event) == ["succeeded"] * healthy

    await wait_for(b_delivered, seconds=DEADLINE_SECONDS, what="B's deliveries")
    assert len(sink.on("/b")) == healthy
    a_statuses = await _statuses(runtime.store.engine, a_event)
    assert "succeeded" not in a_statuses and "running" in a_statuses  # A still hanging


async def test_hanging_service_keeps_no_connection_from_another(
    start_node: Callable[..., Awaitable[Runtime]], sink: Sink
) -> None:
    """A fills the per-host limit with hanging requests; B, on the same host, still gets
    connections (the limit holds per service and host, taken before the pool)."""
    runtime = await start_node(quota_max_concurrent_deliveries=0, dispatcher_per_host_limit=4)
    await _b_delivered_while_a_hangs(runtime, sink, hanging=8, healthy=6, a_first_by=0.0)
    assert len(sink.on("/a")) == 4  # A held to its share of the host, B got its own


async def test_hanging_backlog_does_not_starve_other_services_claims(
    start_node: Callable[..., Awaitable[Runtime]], sink: Sink
) -> None:
    """A has far more due deliveries than the node holds, all due before B's; B's are
    claimed anyway (a service with a full round queued for its slots is skipped)."""
    runtime = await start_node(
        quota_max_concurrent_deliveries=4, dispatcher_max_held=40, dispatcher_batch_size=20
    )
    await _b_delivered_while_a_hangs(runtime, sink, hanging=400, healthy=30, a_first_by=5.0)
    assert len(sink.on("/a")) == 4  # A's quota
