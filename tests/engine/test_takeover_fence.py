"""A node that looked dead sends nothing it no longer holds.

Another node takes over a node's leases once its heartbeat is ``node_takeover_seconds``
old (3 s). A live node can look dead that way (its event loop starved on a loaded
machine). Its lease renewal runs only every third of a lease (20 s by default), so
without a check of its own it would send, at their instants, deliveries another node
has taken over and sends too: the double the queue-mode scale test saw after a Redis
restart (``tests/scale/test_many_nodes.py``). Before each request leaves, the
dispatcher checks that its heartbeats since the claim left no gap a take-over could
use (``engine.beat_chain``); after a gap it beats and renews first, and drops what was
taken over, unsent.

Here the node's heartbeat is made late (an interval of 30 s: it beats only when its
dispatcher asks), the test takes the held delivery over as another node would, and the
delivery's instant comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from onewatch.engine.heartbeat import heartbeat_runner
from onewatch.engine.roles import run_scheduler
from onewatch.runtime import Runtime
from onewatch.store.records import NodeInfo, this_node
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
from tests.engine.test_lease_renewal import DispatcherRole

pytestmark = pytest.mark.timeout(60)

OTHER = "the-other-node"
DEAD_AFTER = timedelta(seconds=3)


@pytest.fixture
async def late_node(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A node whose heartbeat loop, left alone, beats only every 30 s; claims 5 s ahead."""
    settings = settings_for(
        tmp_path,
        database_url=store_url,
        dispatcher_lease_seconds=60.0,
        scheduler_lookahead_seconds=5.0,
        dispatcher_lookahead_seconds=5.0,
    )
    node = await make_runtime(settings)
    node.heartbeat = heartbeat_runner(interval=timedelta(seconds=30))
    try:
        yield node
    finally:
        await node.stop()


async def _held_delivery(node: Runtime, role: DispatcherRole, sink: Sink, due_in: float) -> str:
    event_id = await add_event(
        node.store.engine,
        key="d",
        pattern=(utcnow() + timedelta(seconds=due_in)).isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}/d"},
    )
    node.wakeup.notify()

    async def held() -> bool:
        return len(role.held) == 1

    await wait_for(held, what="the delivery to be held")
    (row,) = await deliveries_of(node.store.engine, event_id)
    return str(row["id"])


async def _beat_as_the_other_node(node: Runtime) -> None:
    """The other node is alive: the late node's maintenance leaves its leases alone."""
    other: NodeInfo = this_node(OTHER, ("dispatcher",), utcnow())
    await node.store.register_node(other)
    while True:
        await asyncio.sleep(0.5)
        await node.store.beat(OTHER, utcnow())


async def _take_over_as_the_other_node(node: Runtime, ident: str) -> None:
    """What the other node's maintenance and dispatcher do once the heartbeat is old."""

    async def taken() -> bool:
        return await node.store.reclaim_expired(now=utcnow(), dead_after=DEAD_AFTER, me=OTHER) == 1

    await wait_for(taken, seconds=15, what="the late node's lease to be taken over")
    claimed = await node.store.claim_by_ids(
        [ident],
        now=utcnow(),
        horizon=utcnow() + timedelta(seconds=10),
        lease_seconds=60.0,
        holder=OTHER,
    )
    assert [item.id for item in claimed] == [ident]


async def test_a_lease_taken_over_from_a_late_node_is_not_sent_by_it(
    late_node: Runtime, sink: Sink
) -> None:
    other = asyncio.create_task(_beat_as_the_other_node(late_node))
    try:
        role = DispatcherRole()
        await late_node.start({"scheduler": run_scheduler, "dispatcher": role})
        ident = await _held_delivery(late_node, role, sink, due_in=8.0)
        with structlog.testing.capture_logs() as logs:
            await _take_over_as_the_other_node(late_node, ident)
            await wait_for(lambda: role.held == {}, seconds=20, what="the late node to drop it")
        assert any(
            entry["event"] == "lease taken over before sending; dropped unsent"
            and entry["delivery_id"] == ident
            for entry in logs
        ), "dropped at its instant, before the request left"
    finally:
        other.cancel()
    assert sink.on("/d") == [], "not sent by the node that lost it"
    (row,) = await rows(late_node.store.engine, deliveries, deliveries.c.id == ident)
    assert (row["status"], row["leased_by"]) == ("running", OTHER), "the other node's row"
    assert [a["outcome"] for a in await attempts_of(late_node.store.engine, ident)] == ["abandoned"]
