"""Failover in the store: leases held by a dead node are taken over before they expire.

A lease names its holder node (``leased_by``). ``reclaim_expired`` with ``dead_after``
also takes the rows of nodes whose heartbeat is that old, or that stopped; never the
caller's own, never those of a live node, and a holder with no row (not registered yet)
keeps its lease until it runs out. The dead node's late result is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from onewatch.store.base import SqlStore
from onewatch.store.records import ClaimedDelivery, NodeInfo
from tests.engine.support import attempts_of
from tests.store.test_deliveries import T0, _event, _fire, _outcome

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


async def _claim_one(store: SqlStore, holder: str | None) -> ClaimedDelivery:
    claimed = await store.claim_ready(
        now=NOW, horizon=NOW, limit=1, lease_seconds=LEASE_SECONDS, holder=holder
    )
    assert len(claimed) == 1
    return claimed[0]


async def _reclaim(store: SqlStore, at: datetime, me: str = "survivor") -> int:
    return await store.reclaim_expired(now=at, dead_after=DEAD_AFTER, me=me)


async def test_a_dead_nodes_lease_is_taken_over_long_before_it_expires(
    store: SqlStore,
) -> None:
    for key in ("dead", "alive", "mine", "unknown"):
        await _event(store, key)
    await _fire(store)
    await store.register_node(_node("dead", NOW - timedelta(seconds=4)))
    await store.register_node(_node("alive", NOW))
    await store.register_node(_node("survivor", NOW - timedelta(seconds=10)))
    dead = await _claim_one(store, "dead")
    for holder in ("alive", "survivor", "unregistered"):
        await _claim_one(store, holder)

    # Only the dead node's lease goes, 59 s before it would have expired.
    assert await _reclaim(store, NOW) == 1
    assert [a["outcome"] for a in await attempts_of(store.engine, dead.id)] == ["abandoned"]
    again = await store.claim_by_ids([dead.id], now=NOW, lease_seconds=LEASE_SECONDS)
    assert [item.id for item in again] == [dead.id]
    # The dead node's result, should it still arrive, is refused.
    assert await store.record_outcomes([_outcome(dead)], now=NOW) == []
    assert await _reclaim(store, NOW) == 0


async def test_a_stopped_nodes_leftover_lease_is_taken_over_at_once(store: SqlStore) -> None:
    await _event(store, "a")
    await _fire(store)
    await store.register_node(_node("stopping", NOW))
    item = await _claim_one(store, "stopping")
    assert await _reclaim(store, NOW) == 0
    await store.mark_stopped("stopping", NOW)
    assert await _reclaim(store, NOW) == 1
    assert await store.record_outcomes([_outcome(item)], now=NOW) == []


async def test_a_lease_taken_over_ahead_of_its_instant_stays_due_then(
    store: SqlStore,
) -> None:
    await _event(store, "a")
    await _fire(store)
    await store.register_node(_node("dead", NOW - timedelta(seconds=10)))
    # Claimed a look-ahead early: due at NOW, taken over at NOW - 1 s.
    early = NOW - timedelta(seconds=1)
    claimed = await store.claim_ready(
        now=early,
        horizon=NOW,
        limit=1,
        lease_seconds=LEASE_SECONDS,
        holder="dead",
    )
    assert await _reclaim(store, early) == 1
    ready_early = await store.claim_ready(
        now=early, horizon=early, limit=1, lease_seconds=LEASE_SECONDS
    )
    assert ready_early == []
    ready = await store.claim_ready(now=NOW, horizon=NOW, limit=1, lease_seconds=LEASE_SECONDS)
    assert [item.id for item in ready] == [claimed[0].id]


async def test_a_holder_that_beat_since_the_read_keeps_its_lease(store: SqlStore) -> None:
    # A node silent for a moment (a starved event loop) is found dead by another's
    # maintenance; before that node's write lands, the slow one beats again and goes on
    # sending what it holds. Taking its lease over then would send that delivery twice.
    await _event(store, "a")
    await _fire(store)
    await store.register_node(_node("slow", NOW - timedelta(seconds=4)))
    item = await _claim_one(store, "slow")
    read = await store.lapsed_leases(now=NOW, limit=10, dead_after=DEAD_AFTER, me="survivor")
    assert [outcome.delivery_id for outcome in read] == [item.id]

    assert await store.beat("slow", NOW)
    assert await store.take_over(read, now=NOW, dead_after=DEAD_AFTER, me="survivor") == 0
    assert await attempts_of(store.engine, item.id) == []
    assert await store.record_outcomes([_outcome(item)], now=NOW) != [], "still its lease"


async def test_a_lease_renewed_since_the_read_is_kept(store: SqlStore) -> None:
    await _event(store, "a")
    await _fire(store)
    claimed = await store.claim_ready(now=NOW, horizon=NOW, limit=1, lease_seconds=5.0)
    later = NOW + timedelta(seconds=6)
    read = await store.lapsed_leases(now=later, limit=10, dead_after=None, me=None)
    assert len(read) == 1

    held = {claimed[0].id: claimed[0].lease_token}
    assert await store.extend_leases(held, now=later, lease_seconds=5.0) == set(held)
    assert await store.take_over(read, now=later, dead_after=None, me=None) == 0
    assert await store.reclaim_expired(now=later) == 0


async def test_a_holder_still_silent_at_the_write_is_taken_over(store: SqlStore) -> None:
    await _event(store, "a")
    await _fire(store)
    await store.register_node(_node("dead", NOW - timedelta(seconds=4)))
    item = await _claim_one(store, "dead")
    read = await store.lapsed_leases(now=NOW, limit=10, dead_after=DEAD_AFTER, me="survivor")
    # A beat older than the cutoff changes nothing.
    assert await store.beat("dead", NOW - timedelta(seconds=3, milliseconds=1))
    assert await store.take_over(read, now=NOW, dead_after=DEAD_AFTER, me="survivor") == 1
    assert [a["outcome"] for a in await attempts_of(store.engine, item.id)] == ["abandoned"]
