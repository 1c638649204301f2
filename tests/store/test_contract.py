"""The ``ports.Store`` contract, run on every store through the protocol alone.

A new store is done when this suite passes on it (``tests/backends``' ``store`` fixture
gives each test a fresh SQLite file and a fresh PostgreSQL database). Nothing here
touches an engine or a table: what the API and the engine rely on, and only that.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onewatch.errors import Conflict
from onewatch.ports import Store
from onewatch.store import open_store
from onewatch.store.records import (
    Advance,
    AuditEntry,
    AuditFilter,
    ClaimedDelivery,
    DueEvent,
    Outcome,
    json_text,
)
from tests.store.test_events import event_values

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LEASE = 30.0


async def _event(store: Store, key: str = "e", **changes: Any) -> int:
    async with store.write() as tx:
        return await tx.insert_event(event_values(key, **changes))


async def _runs_now(store: Store, count: int, at: datetime = NOW) -> None:
    """``count`` deliveries due at ``at``, one event each."""
    for index in range(count):
        await _event(store, f"run-{index}")
        async with store.write() as tx:
            event = await tx.get_event("alpha", f"run-{index}")
            assert event is not None
            await tx.insert_manual_delivery(event, at)


async def _claim(store: Store, limit: int = 100) -> list[ClaimedDelivery]:
    return await store.claim_ready(now=NOW, horizon=NOW, limit=limit, lease_seconds=LEASE)


def _done(item: ClaimedDelivery, token: str | None = None) -> Outcome:
    return Outcome(
        delivery_id=item.id,
        lease_token=token or item.lease_token,
        attempt=item.attempt_number,
        status="succeeded",
        next_attempt_at=item.next_attempt_at,
        started_at=NOW,
        latency_ms=1,
        status_code=200,
        attempt_outcome="succeeded",
        response_excerpt="ok",
        error=None,
        finished_at=NOW,
    )


@pytest.fixture
async def second_node(store_url: str) -> AsyncIterator[Store]:
    """Another store object on the same database: what a second node holds."""
    other = open_store(store_url)
    try:
        yield other
    finally:
        await other.dispose()


# --- conditional updates --------------------------------------------------------------


async def test_an_event_update_from_a_stale_version_changes_nothing(store: Store) -> None:
    event_id = await _event(store)
    async with store.write() as tx:
        assert await tx.update_event(event_id, 1, {"title": "first"})
        assert not await tx.update_event(event_id, 1, {"title": "stale"})
    async with store.read() as tx:
        row = await tx.get_event("alpha", "e")
    assert row is not None
    assert (row["title"], row["version"]) == ("first", 2)


async def test_an_action_update_from_a_stale_read_changes_nothing(store: Store) -> None:
    values = {
        "service": "alpha",
        "key": "notify",
        "type": "webhook",
        "target": {"endpoint": "https://h.example.org/"},
        "payload": {},
        "retry_policy": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    async with store.write() as tx:
        action_id = await tx.insert_action(values)
    later = NOW + timedelta(seconds=1)
    async with store.write() as tx:
        assert await tx.update_action(action_id, NOW, {"updated_at": later})
        assert not await tx.update_action(action_id, NOW, {"payload": {"x": 1}})


async def test_a_write_that_raises_is_rolled_back_whole(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            await tx.insert_event(event_values("a"))
            await tx.insert_event(event_values("b"))
            raise RuntimeError("the caller failed midway")
    async with store.read() as tx:
        assert await tx.get_events_by_identity([("alpha", "a"), ("alpha", "b")]) == {}


async def test_a_stale_advance_is_not_fired(store: Store) -> None:
    """The scheduler's plan made from a version that moved on advances nothing, and
    makes no delivery; the next round, from the fresh version, fires it once."""
    await _event(store, "stale")
    await _event(store, "fresh")

    def plan(event: DueEvent, *, stale: bool) -> Advance:
        if stale and event.key == "stale":
            event = dataclasses.replace(event, version=event.version - 1)
        return Advance(event, [event.next_occurrence], None, event.occurrences + 1)

    first = await store.fire_due_events(
        now=NOW, horizon=NOW, limit=10, plan=lambda event: plan(event, stale=True)
    )
    assert (first.events_advanced, first.deliveries_created) == (1, 1)
    again = await store.fire_due_events(
        now=NOW, horizon=NOW, limit=10, plan=lambda event: plan(event, stale=False)
    )
    assert (again.events_advanced, again.deliveries_created) == (1, 1)
    nothing = await store.fire_due_events(
        now=NOW, horizon=NOW, limit=10, plan=lambda event: plan(event, stale=False)
    )
    assert nothing.events_advanced == 0, "both completed: nothing is due any more"
    assert sorted(item.event_key for item in await _claim(store)) == ["fresh", "stale"]


# --- claims and leases -----------------------------------------------------------------


async def test_two_claimers_never_get_the_same_delivery(store: Store, second_node: Store) -> None:
    await _runs_now(store, 30)
    claims = await asyncio.gather(
        *(
            node.claim_ready(now=NOW, horizon=NOW, limit=4, lease_seconds=LEASE)
            for _ in range(6)
            for node in (store, second_node)
        )
    )
    ids = [item.id for claim in claims for item in claim]
    assert len(ids) == len(set(ids)), "a delivery was leased twice"
    rest = await _claim(store)
    assert len(ids) + len(rest) == 30
    assert not {item.id for item in rest} & set(ids)


async def test_a_claim_by_id_refuses_a_delivery_already_leased(store: Store) -> None:
    await _runs_now(store, 1)
    (item,) = await _claim(store)
    assert await store.claim_by_ids([item.id], now=NOW, lease_seconds=LEASE) == []
    assert await _claim(store) == []


async def test_an_outcome_is_kept_only_under_the_lease_that_sent_it(store: Store) -> None:
    await _runs_now(store, 2)
    first, second = await _claim(store)
    kept = await store.record_outcomes([_done(first), _done(second, "not-the-lease")], now=NOW)
    assert [outcome.delivery_id for outcome in kept] == [first.id]
    assert (await store.get_delivery(first.id)).status == "succeeded"  # type: ignore[union-attr]
    view = await store.get_delivery(second.id)
    assert view is not None and view.status == "running" and view.attempts == []


async def test_a_lease_taken_over_refuses_the_late_result(store: Store) -> None:
    await _runs_now(store, 1)
    (item,) = await store.claim_ready(now=NOW, horizon=NOW, limit=1, lease_seconds=5)
    later = NOW + timedelta(seconds=6)
    assert await store.reclaim_expired(now=later) == 1
    (again,) = await store.claim_ready(now=later, horizon=later, limit=1, lease_seconds=5)
    assert again.id == item.id and again.lease_token != item.lease_token
    assert await store.record_outcomes([_done(item)], now=later) == [], "the old lease lost"
    assert await store.release([(item.id, item.lease_token)], now=later) == 0
    assert await store.extend_leases({item.id: item.lease_token}, now=later, lease_seconds=5) == (
        set()
    )
    assert await store.record_outcomes([_done(again)], now=later) != []


# --- unique keys -----------------------------------------------------------------------


async def test_an_event_key_is_unique_within_its_service(store: Store) -> None:
    await _event(store, "k")
    with pytest.raises(Conflict):
        await _event(store, "k")
    await _event(store, "k", service="beta")  # another service may use it
    async with store.write() as tx:
        stored = await tx.insert_new_events([event_values("k"), event_values("new")])
    assert sorted(stored) == [("alpha", "new")], "the existing one is skipped, not replaced"


async def test_one_occurrence_of_an_event_is_one_delivery(store: Store) -> None:
    await _event(store)
    async with store.write() as tx:
        event = await tx.get_event("alpha", "e")
        assert event is not None
        await tx.insert_manual_delivery(event, NOW)
    with pytest.raises(Conflict):
        async with store.write() as tx:
            await tx.insert_manual_delivery(event, NOW)
    assert len(await _claim(store)) == 1


def _audit_entry(key: str, after: Any = None, at: datetime = NOW) -> AuditEntry:
    return AuditEntry("alpha", "event", key, "create", "alice", "service", "api", at, None, after)


async def test_audit_entries_commit_with_their_transaction_and_page_newest_first(
    store: Store,
) -> None:
    """An entry rolled back with its change is gone; documents come back as given (a
    ``JsonText`` stored as its text, not quoted again); pages go newest first."""
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            await tx.record_audits([_audit_entry("lost")])
            raise RuntimeError("the change failed after its entry was written")
    async with store.write() as tx:
        await tx.record_audits([_audit_entry("a", {"n": 1}), _audit_entry("b", json_text([2]))])
        await tx.record_audits([_audit_entry("c", at=NOW + timedelta(days=2))])
    async with store.read() as tx:
        first = await tx.list_audit(AuditFilter(service="alpha"), before_id=None, limit=2)
        rest = await tx.list_audit(AuditFilter(), before_id=first[-1]["id"], limit=5)
    assert [row["resource_key"] for row in [*first, *rest]] == ["c", "b", "a"]
    assert (first[1]["after"], rest[0]["after"]) == ([2], {"n": 1})
    async with store.write() as tx:
        assert await tx.prune_audit(older_than=NOW + timedelta(days=1), limit=10) == 2
    async with store.read() as tx:
        left = await tx.list_audit(AuditFilter(), before_id=None, limit=5)
    assert [row["resource_key"] for row in left] == ["c"]


async def test_a_redrive_in_a_transaction_that_fails_is_rolled_back(store: Store) -> None:
    """``StoreTransaction.redrive`` is conditional (dead only) and commits with its
    transaction: a redrive whose audit entry fails leaves the delivery dead."""
    await _runs_now(store, 1)
    (claimed,) = await _claim(store)
    dead = dataclasses.replace(_done(claimed), status="dead", attempt_outcome="failed")
    assert await store.record_outcomes([dead], now=NOW) == [dead]
    async with store.write() as tx:
        assert not await tx.redrive("no-such-delivery", now=NOW)
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            assert await tx.redrive(claimed.id, now=NOW)
            raise RuntimeError("its audit entry failed")
    view = await store.get_delivery(claimed.id)
    assert view is not None and view.status == "dead"
    async with store.write() as tx:
        assert await tx.redrive(claimed.id, now=NOW)
        assert not await tx.redrive(claimed.id, now=NOW)  # retrying now, not dead
