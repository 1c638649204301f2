"""The firing store: leases, conditional recording, reclaiming, releasing, pruning."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.deliveries import (
    ClaimedDelivery,
    Outcome,
    claim_by_ids,
    claim_ready,
    prune_finished,
    reclaim_expired,
    record_outcomes,
    redrive,
    release,
)
from onewatch.store.firing import Advance, DueEvent, fire_due_events
from tests.conftest import postgres_url
from tests.engine.support import (
    add_event,
    attempts_of,
    deliveries_of,
    event_row,
    migrated_engine,
    settings_for,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@contextlib.asynccontextmanager
async def _fresh_postgres() -> AsyncIterator[str]:
    """A throw-away database on the test server, dropped afterwards."""
    admin = make_url(postgres_url())
    name = f"onewatch_firing_{secrets.token_hex(6)}"
    connect = {"host": admin.host, "port": admin.port, "user": admin.username}
    connection = await asyncpg.connect(database=admin.database, **connect)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "postgres":
            url = await stack.enter_async_context(_fresh_postgres())
            store = await migrated_engine(settings_for(tmp_path, database_url=url))
        else:
            store = await migrated_engine(settings_for(tmp_path))
        try:
            yield store
        finally:
            await store.dispose()


async def _event(engine: AsyncEngine, key: str) -> int:
    return await add_event(
        engine,
        key=key,
        pattern=(T0 + timedelta(seconds=1)).isoformat(),
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/x"},
        now=T0,
    )


def _advance(event: DueEvent) -> Advance:
    return Advance(event, [event.next_occurrence], None, event.occurrences + 1)


async def _fire(engine: AsyncEngine, plan=_advance) -> int:  # type: ignore[no-untyped-def]
    now = T0 + timedelta(seconds=1)
    batch = await fire_due_events(engine, now=now, horizon=now, limit=100, plan=plan)
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


async def test_fire_is_once_per_occurrence_and_stale_versions_lose(engine: AsyncEngine) -> None:
    first, second = await _event(engine, "a"), await _event(engine, "b")

    def stale_b(event: DueEvent) -> Advance:
        if event.id == second:  # as if the API changed "b" after it was read
            event = dataclasses.replace(event, version=event.version - 1)
        return _advance(event)

    assert await _fire(engine, stale_b) >= 1
    assert len(await deliveries_of(engine, first)) == 1
    assert await deliveries_of(engine, second) == []
    assert (await event_row(engine, first))["status"] == "completed"
    assert (await event_row(engine, second))["status"] == "active"
    await _fire(engine)
    assert len(await deliveries_of(engine, first)) == 1
    assert len(await deliveries_of(engine, second)) == 1


async def test_a_lease_is_exclusive_and_a_lost_lease_is_not_overwritten(
    engine: AsyncEngine,
) -> None:
    for key in "abc":
        await _event(engine, key)
    await _fire(engine)
    now = T0 + timedelta(seconds=1)
    claimed = await claim_ready(engine, now=now, horizon=now, limit=2, lease_seconds=10)
    rest = await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=10)
    assert len(claimed) == 2 and len(rest) == 1
    assert not {c.id for c in claimed} & {r.id for r in rest}
    assert await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=10) == []
    assert await claim_by_ids(engine, [claimed[0].id], now=now, lease_seconds=10) == []

    kept = await record_outcomes(
        engine, [_outcome(claimed[0]), _outcome(claimed[1], token="not-the-lease")], now=now
    )
    assert [k.delivery_id for k in kept] == [claimed[0].id]
    assert len(await attempts_of(engine, claimed[0].id)) == 1
    assert await attempts_of(engine, claimed[1].id) == []


async def test_expired_lease_is_reclaimed_as_an_abandoned_attempt(engine: AsyncEngine) -> None:
    await _event(engine, "a")
    await _fire(engine)
    now = T0 + timedelta(seconds=1)
    (item,) = await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=5)
    assert await reclaim_expired(engine, now=now + timedelta(seconds=4)) == 0
    assert await reclaim_expired(engine, now=now + timedelta(seconds=6)) == 1
    (attempt,) = await attempts_of(engine, item.id)
    assert attempt["outcome"] == "abandoned"
    later = now + timedelta(seconds=6)
    (again,) = await claim_ready(engine, now=later, horizon=later, limit=10, lease_seconds=5)
    assert again.id == item.id and again.attempt_number == 2
    # The first holder comes back too late: its result is dropped.
    assert await record_outcomes(engine, [_outcome(item)], now=later) == []


async def test_release_redrive_and_prune(engine: AsyncEngine) -> None:
    event_id = await _event(engine, "a")
    await _fire(engine)
    now = T0 + timedelta(seconds=1)
    (item,) = await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=5)
    assert await release(engine, [(item.id, item.lease_token)], now=now) == 1
    (row,) = await deliveries_of(engine, event_id)
    assert row["status"] == "pending" and row["lease_token"] is None

    (item,) = await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=5)
    assert not await redrive(engine, item.id, now=now), "only a dead delivery"
    await record_outcomes(engine, [_outcome(item, status="dead")], now=now)
    assert await redrive(engine, item.id, now=now)
    (row,) = await deliveries_of(engine, event_id)
    assert (row["status"], row["attempt_base"], row["finished_at"]) == ("retrying", 1, None)

    (item,) = await claim_ready(engine, now=now, horizon=now, limit=10, lease_seconds=5)
    await record_outcomes(engine, [_outcome(item)], now=now)
    assert await prune_finished(engine, older_than=T0 - timedelta(days=1)) == 0
    assert await prune_finished(engine, older_than=T0 + timedelta(days=1)) == 1
    assert await deliveries_of(engine, event_id) == []
    assert await attempts_of(engine, item.id) == []
