"""The firing store: leases, conditional recording, reclaiming, releasing, pruning,
on every store through the ``Store`` protocol."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from onewatch.store.base import SqlStore
from onewatch.store.records import Advance, ClaimedDelivery, DueEvent, Outcome
from tests.engine.support import (
    add_event,
    attempts_of,
    deliveries_of,
    event_row,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def _event(store: SqlStore, key: str) -> int:
    return await add_event(
        store.engine,
        key=key,
        pattern=(T0 + timedelta(seconds=1)).isoformat(),
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/x"},
        now=T0,
    )


def _advance(event: DueEvent) -> Advance:
    return Advance(event, [event.next_occurrence], None, event.occurrences + 1)


async def _fire(store: SqlStore, plan=_advance) -> int:  # type: ignore[no-untyped-def]
    now = T0 + timedelta(seconds=1)
    batch = await store.fire_due_events(now=now, horizon=now, limit=100, plan=plan)
    return batch.deliveries_created


def _outcome(item: ClaimedDelivery, token: str | None = None, status: str = "succeeded") -> Outcome:
    return Outcome(
        delivery_id=item.id,
        lease_token=token or item.lease_token,
        attempt=item.attempt_number,
        status=status,
        next_attempt_at=item.next_attempt_at,
        started_at=T0,
        latency_ms=3,
        status_code=200 if status == "succeeded" else 500,
        attempt_outcome="succeeded" if status == "succeeded" else "failed",
        response_excerpt="ok",
        error=None,
        finished_at=T0 if status != "retrying" else None,
    )


async def test_fire_is_once_per_occurrence_and_stale_versions_lose(store: SqlStore) -> None:
    first, second = await _event(store, "a"), await _event(store, "b")

    def stale_b(event: DueEvent) -> Advance:
        if event.id == second:  # as if the API changed "b" after it was read
            event = dataclasses.replace(event, version=event.version - 1)
        return _advance(event)

    assert await _fire(store, stale_b) >= 1
    assert len(await deliveries_of(store.engine, first)) == 1
    assert await deliveries_of(store.engine, second) == []
    assert (await event_row(store.engine, first))["status"] == "completed"
    assert (await event_row(store.engine, second))["status"] == "active"
    await _fire(store)
    assert len(await deliveries_of(store.engine, first)) == 1
    assert len(await deliveries_of(store.engine, second)) == 1


async def test_a_lease_is_exclusive_and_a_lost_lease_is_not_overwritten(
    store: SqlStore,
) -> None:
    for key in "abc":
        await _event(store, key)
    await _fire(store)
    now = T0 + timedelta(seconds=1)
    claimed = await store.claim_ready(now=now, horizon=now, limit=2, lease_seconds=10)
    rest = await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=10)
    assert len(claimed) == 2 and len(rest) == 1
    assert not {c.id for c in claimed} & {r.id for r in rest}
    assert await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=10) == []
    assert await store.claim_by_ids([claimed[0].id], now=now, lease_seconds=10) == []

    kept = await store.record_outcomes(
        [_outcome(claimed[0]), _outcome(claimed[1], token="not-the-lease")], now=now
    )
    assert [k.delivery_id for k in kept] == [claimed[0].id]
    assert len(await attempts_of(store.engine, claimed[0].id)) == 1
    assert await attempts_of(store.engine, claimed[1].id) == []


async def test_expired_lease_is_reclaimed_as_an_abandoned_attempt(store: SqlStore) -> None:
    await _event(store, "a")
    await _fire(store)
    now = T0 + timedelta(seconds=1)
    (item,) = await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=5)
    assert await store.reclaim_expired(now=now + timedelta(seconds=4)) == 0
    assert await store.reclaim_expired(now=now + timedelta(seconds=6)) == 1
    (attempt,) = await attempts_of(store.engine, item.id)
    assert attempt["outcome"] == "abandoned"
    later = now + timedelta(seconds=6)
    (again,) = await store.claim_ready(now=later, horizon=later, limit=10, lease_seconds=5)
    assert again.id == item.id and again.attempt_number == 2
    # The first holder comes back too late: its result is dropped.
    assert await store.record_outcomes([_outcome(item)], now=later) == []


async def test_release_redrive_and_prune(store: SqlStore) -> None:
    event_id = await _event(store, "a")
    await _fire(store)
    now = T0 + timedelta(seconds=1)
    (item,) = await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=5)
    assert await store.release([(item.id, item.lease_token)], now=now) == 1
    (row,) = await deliveries_of(store.engine, event_id)
    assert row["status"] == "pending" and row["lease_token"] is None

    (item,) = await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=5)
    assert not await store.redrive(item.id, now=now), "only a dead delivery"
    await store.record_outcomes([_outcome(item, status="dead")], now=now)
    assert await store.redrive(item.id, now=now)
    (row,) = await deliveries_of(store.engine, event_id)
    assert (row["status"], row["attempt_base"], row["finished_at"]) == ("retrying", 1, None)

    (item,) = await store.claim_ready(now=now, horizon=now, limit=10, lease_seconds=5)
    await store.record_outcomes([_outcome(item)], now=now)
    assert await store.prune_finished(older_than=T0 - timedelta(days=1)) == 0
    assert await store.prune_finished(older_than=T0 + timedelta(days=1)) == 1
    assert await deliveries_of(store.engine, event_id) == []
    assert await attempts_of(store.engine, item.id) == []
