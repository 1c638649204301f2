"""Renewing leases: only rows still running under the holder's token are extended, a
lease never shrinks, and a renewed lease is not reclaimed when the first one ran out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from onewatch.store import deliveries as deliveries_queries
from onewatch.store.base import SqlStore
from onewatch.store.records import ClaimedDelivery
from onewatch.store.schema import deliveries
from tests.engine.support import rows
from tests.scale.deliveries import T0, insert_deliveries, insert_event


async def _claim(store: SqlStore, count: int, *, lease: float) -> list[ClaimedDelivery]:
    return await store.claim_ready(now=T0, horizon=T0, limit=count, lease_seconds=lease)


async def steal(store: SqlStore, delivery_id: str) -> None:
    """What another dispatcher's claim leaves on a row: its own token and lease."""
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status="running", lease_token="another-node", locked_until=T0 + timedelta(hours=1))
    )
    async with store.engine.begin() as connection:
        assert (await connection.execute(statement)).rowcount == 1


async def _locked_until(store: SqlStore) -> dict[str, object]:
    return {row["id"]: row["locked_until"] for row in await rows(store.engine, deliveries)}


def _held(items: list[ClaimedDelivery]) -> dict[str, str]:
    return {item.id: item.lease_token for item in items}


async def test_only_leases_still_held_are_extended(store: SqlStore) -> None:
    event_id = await insert_event(store.engine)
    await insert_deliveries(store.engine, event_id, 4, T0)
    mine, stolen, released = await _claim(store, 3, lease=5)
    # A second claim: a dispatcher holds several tokens at once.
    (later,) = await _claim(store, 1, lease=5)
    await steal(store, stolen.id)
    await store.release([(released.id, released.lease_token)], now=T0)
    before = await _locked_until(store)

    now = T0 + timedelta(seconds=4)
    held = _held([mine, stolen, released, later])
    kept = await store.extend_leases(held, now=now, lease_seconds=5)

    assert kept == {mine.id, later.id}
    after = await _locked_until(store)
    assert after[mine.id] == after[later.id] == now + timedelta(seconds=5)
    assert after[stolen.id] == before[stolen.id], "another node's lease is left alone"
    assert after[released.id] is None
    # The first lease ran out at T0 + 5 s: the renewed ones are not reclaimed then.
    assert await store.reclaim_expired(now=T0 + timedelta(seconds=6)) == 0
    assert await store.reclaim_expired(now=T0 + timedelta(seconds=10)) == 2


async def test_a_lease_never_shrinks_and_a_wrong_token_renews_nothing(
    store: SqlStore,
) -> None:
    event_id = await insert_event(store.engine)
    await insert_deliveries(store.engine, event_id, 1, T0)
    (item,) = await _claim(store, 1, lease=60)
    assert await store.extend_leases(_held([item]), now=T0, lease_seconds=5) == {item.id}
    assert (await _locked_until(store))[item.id] == T0 + timedelta(seconds=60)

    forged = {item.id: "not-the-lease"}
    later = T0 + timedelta(seconds=59)
    assert await store.extend_leases(forged, now=later, lease_seconds=5) == set()
    assert (await _locked_until(store))[item.id] == T0 + timedelta(seconds=60)
    assert await store.extend_leases({}, now=later, lease_seconds=5) == set()


async def test_renewal_in_chunks_answers_the_same(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries_queries, "RENEW_CHUNK", 2)
    event_id = await insert_event(store.engine)
    await insert_deliveries(store.engine, event_id, 5, T0)
    claimed = await _claim(store, 3, lease=5) + await _claim(store, 2, lease=5)
    await steal(store, claimed[3].id)
    now = T0 + timedelta(seconds=1)
    kept = await store.extend_leases(_held(claimed), now=now, lease_seconds=10)
    assert kept == {item.id for item in claimed} - {claimed[3].id}
