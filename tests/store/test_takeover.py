"""Failover in the store: leases held by a dead node are taken over before they expire.

A lease names its holder node (``leased_by``). ``reclaim_expired`` with ``dead_after``
also takes the rows of nodes whose heartbeat is that old, or that stopped; never the
caller's own, never those of a live node, and a holder with no row (not registered yet)
keeps its lease until it runs out. The dead node's late result is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.deliveries import (
    ClaimedDelivery,
    claim_by_ids,
    claim_ready,
    reclaim_expired,
    record_outcomes,
)
from onewatch.store.nodes import NodeInfo, mark_stopped, register_node
from tests.engine.support import attempts_of
from tests.store.test_deliveries import T0, _event, _fire, _outcome
from tests.store.test_deliveries import engine as engine  # the backend fixture

NOW = T0 + timedelta(seconds=1)
#: The take-over time the tests use; the lease is far longer, as by default.
DEAD_AFTER = timedelta(seconds=3)
LEASE_SECONDS = 60.0


def _node(ident: str, heartbeat_at: datetime) -> NodeInfo:
    return NodeInfo(
        id=ident,
        hostname="test",
        pid=1,
        roles=("dispatcher",),
        version="test",
        started_at=heartbeat_at,
        heartbeat_at=heartbeat_at,
    )


async def _claim_one(engine: AsyncEngine, holder: str | None) -> ClaimedDelivery:
    claimed = await claim_ready(
        engine, now=NOW, horizon=NOW, limit=1, lease_seconds=LEASE_SECONDS, holder=holder
    )
    assert len(claimed) == 1
    return claimed[0]


async def _reclaim(engine: AsyncEngine, at: datetime, me: str = "survivor") -> int:
    return await reclaim_expired(engine, now=at, dead_after=DEAD_AFTER, me=me)


async def test_a_dead_nodes_lease_is_taken_over_long_before_it_expires(
    engine: AsyncEngine,
) -> None:
    for key in ("dead", "alive", "mine", "unknown"):
        await _event(engine, key)
    await _fire(engine)
    await register_node(engine, _node("dead", NOW - timedelta(seconds=4)))
    await register_node(engine, _node("alive", NOW))
    await register_node(engine, _node("survivor", NOW - timedelta(seconds=10)))
    dead = await _claim_one(engine, "dead")
    for holder in ("alive", "survivor", "unregistered"):
        await _claim_one(engine, holder)

    # Only the dead node's lease goes, 59 s before it would have expired.
    assert await _reclaim(engine, NOW) == 1
    assert [a["outcome"] for a in await attempts_of(engine, dead.id)] == ["abandoned"]
    again = await claim_by_ids(engine, [dead.id], now=NOW, lease_seconds=LEASE_SECONDS)
    assert [item.id for item in again] == [dead.id]
    # The dead node's result, should it still arrive, is refused.
    assert await record_outcomes(engine, [_outcome(dead)], now=NOW) == []
    assert await _reclaim(engine, NOW) == 0


async def test_a_stopped_nodes_leftover_lease_is_taken_over_at_once(engine: AsyncEngine) -> None:
    await _event(engine, "a")
    await _fire(engine)
    await register_node(engine, _node("stopping", NOW))
    item = await _claim_one(engine, "stopping")
    assert await _reclaim(engine, NOW) == 0
    await mark_stopped(engine, "stopping", NOW)
    assert await _reclaim(engine, NOW) == 1
    assert await record_outcomes(engine, [_outcome(item)], now=NOW) == []


async def test_a_lease_taken_over_ahead_of_its_instant_stays_due_then(
    engine: AsyncEngine,
) -> None:
    await _event(engine, "a")
    await _fire(engine)
    await register_node(engine, _node("dead", NOW - timedelta(seconds=10)))
    # Claimed a look-ahead early: due at NOW, taken over at NOW - 1 s.
    early = NOW - timedelta(seconds=1)
    claimed = await claim_ready(
        engine,
        now=early,
        horizon=NOW,
        limit=1,
        lease_seconds=LEASE_SECONDS,
        holder="dead",
    )
    assert await _reclaim(engine, early) == 1
    ready_early = await claim_ready(
        engine, now=early, horizon=early, limit=1, lease_seconds=LEASE_SECONDS
    )
    assert ready_early == []
    ready = await claim_ready(engine, now=NOW, horizon=NOW, limit=1, lease_seconds=LEASE_SECONDS)
    assert [item.id for item in ready] == [claimed[0].id]
