"""Overlap decisions under concurrency on PostgreSQL: two firing nodes, and a firing
racing the transaction that records the previous delivery's final outcome.

Node A fires in its own thread (its own event loop and engine) and is stopped inside its
transaction, after it claimed the due event and before it decides, by its ``plan``
callback; the rest of the test runs meanwhile on the main loop, as another node would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.domain.statuses import AttemptOutcome, DeliveryStatus
from onewatch.engine.scheduler import plan_event
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.records import Advance, DueEvent, FireBatch, Outcome
from tests.engine.support import add_event, deliveries_of, wait_for


def _at(minute: int, second: float = 0) -> datetime:
    return datetime(2030, 1, 1, 0, minute, tzinfo=UTC) + timedelta(seconds=second)


@pytest.fixture
async def pg(postgres_database_url: str) -> AsyncIterator[tuple[str, SqlStore]]:
    store = open_store(postgres_database_url)
    await store.migrate()
    try:
        yield postgres_database_url, store
    finally:
        await store.dispose()


class HeldFiring:
    """A firing pass of another node, stopped inside its transaction until ``go``."""

    def __init__(self, url: str, now: datetime) -> None:
        self.url = url
        self.now = now
        self.claimed = threading.Event()
        self.go = threading.Event()

    def _plan(self, event: DueEvent) -> Advance:
        self.claimed.set()
        self.go.wait(timeout=30)
        return plan_event(event, now=self.now, horizon=self.now, fire_all_cap=10)

    async def _fire(self) -> FireBatch:
        store = open_store(self.url)
        try:
            return await store.fire_due_events(
                now=self.now, horizon=self.now, limit=10, plan=self._plan
            )
        finally:
            await store.dispose()

    def run(self) -> FireBatch:
        return asyncio.run(self._fire())


async def _fire(store: SqlStore, now: datetime) -> FireBatch:
    def plan(event: DueEvent) -> Advance:
        return plan_event(event, now=now, horizon=now, fire_all_cap=10)

    return await store.fire_due_events(now=now, horizon=now, limit=10, plan=plan)


async def _event(engine: AsyncEngine, overlap: str) -> int:
    return await add_event(
        engine,
        key=f"race-{overlap}",
        pattern="* * * * *",
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/unused"},
        overlap=overlap,
        misfire_policy="fire_all",
        misfire_grace_seconds=3600,
        after=_at(0),
        now=_at(0),
    )


async def test_two_nodes_firing_at_once_do_not_both_find_nothing_unfinished(
    pg: tuple[str, SqlStore],
) -> None:
    url, store = pg
    engine = store.engine
    event_id = await _event(engine, "skip")
    held = HeldFiring(url, _at(1))
    node_a = asyncio.create_task(asyncio.to_thread(held.run))
    try:
        assert await asyncio.to_thread(held.claimed.wait, 10), "node A claimed the event"
        # Node B, a minute later, while A holds the event inside its transaction: it must
        # not decide anything about the event (it would find nothing unfinished yet).
        assert (await _fire(store, _at(2, 0.5))).deliveries_created == 0
    finally:
        held.go.set()
    assert (await node_a).deliveries_created == 1
    # B again, after A committed: it finds A's delivery unfinished and skips its own.
    await _fire(store, _at(2, 0.5))
    rows = await deliveries_of(engine, event_id)
    assert [(row["scheduled_for"], row["status"]) for row in rows] == [
        (_at(1), DeliveryStatus.PENDING),
        (_at(2), DeliveryStatus.SKIPPED),
    ]


async def _waiting_on_a_lock(engine: AsyncEngine) -> bool:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one()) > 0


def _succeeded(delivery_id: str, token: str, now: datetime) -> Outcome:
    return Outcome(
        delivery_id=delivery_id,
        lease_token=token,
        attempt=1,
        status=DeliveryStatus.SUCCEEDED,
        next_attempt_at=now,
        started_at=now,
        latency_ms=5,
        status_code=200,
        attempt_outcome=AttemptOutcome.SUCCEEDED,
        response_excerpt="ok",
        error=None,
        finished_at=now,
    )


async def test_a_buffered_occurrence_committed_during_the_release_is_not_stranded(
    pg: tuple[str, SqlStore],
) -> None:
    """Node A buffers 00:02 behind 00:01 (which it sees running) while a dispatcher
    records 00:01's success: whichever order the two commit in, 00:02 ends up pending."""
    url, store = pg
    engine = store.engine
    event_id = await _event(engine, "buffer_one")
    await _fire(store, _at(1))
    (claimed,) = await store.claim_ready(now=_at(1), horizon=_at(1), limit=10, lease_seconds=600)
    held = HeldFiring(url, _at(2))
    node_a = asyncio.create_task(asyncio.to_thread(held.run))
    try:
        assert await asyncio.to_thread(held.claimed.wait, 10), "node A claimed the event"
        outcome = _succeeded(claimed.id, claimed.lease_token, _at(2))
        recording = asyncio.create_task(store.record_outcomes([outcome], now=_at(2)))
        # The recording transaction waits for the event A holds before it looks for a
        # buffered delivery (the one A is about to commit).
        await wait_for(lambda: _waiting_on_a_lock(engine), what="the release to wait")
    finally:
        held.go.set()
    assert (await node_a).deliveries_created == 1
    assert len(await recording) == 1
    rows = await deliveries_of(engine, event_id)
    assert [row["status"] for row in rows] == [DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING]
