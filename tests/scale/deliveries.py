"""Rows for queue tests, and a stand-in for the dispatcher's claim-and-record step.

The real dispatcher (engine/) claims with a lease and records the HTTP result; these
tests only need its store-side contract: a conditional claim that refuses a delivery
that is no longer ready, then a conditional update to ``succeeded``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.schema import deliveries, events

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


async def insert_event(engine: AsyncEngine, key: str = "nightly") -> int:
    values = {
        "service": "billing",
        "key": key,
        "target_type": "webhook",
        "target": {"endpoint": "http://127.0.0.1:9/hook", "method": "POST"},
        "pattern": "0 1 * * *",
        "timezone": "UTC",
        "status": "active",
        "created_at": T0,
        "updated_at": T0,
    }
    async with engine.begin() as connection:
        result = await connection.execute(insert(events).values(**values))
        event_id: int = result.inserted_primary_key[0]  # type: ignore[index]
    return event_id


async def insert_deliveries(
    engine: AsyncEngine, event_id: int, count: int, due: datetime, status: str = "pending"
) -> list[str]:
    """``count`` deliveries of one event whose next attempt is at ``due``."""
    # A random base keeps (event, kind, scheduled_for) unique across calls.
    base = T0 + timedelta(seconds=secrets.randbelow(10**9))
    rows = [
        {
            "id": uuid.uuid4().hex,
            "event_id": event_id,
            "service": "billing",
            "event_key": "nightly",
            "scheduled_for": base + timedelta(seconds=n),
            "status": status,
            "next_attempt_at": due,
            "created_at": T0,
            "updated_at": T0,
        }
        for n in range(count)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(deliveries), rows)
    return [str(row["id"]) for row in rows]


async def claim_and_succeed(engine: AsyncEngine, ids: Iterable[str], now: datetime) -> set[str]:
    """Claim what is still ready, then record success; returns the ids it claimed."""
    token = uuid.uuid4().hex
    claim = (
        update(deliveries)
        .where(
            deliveries.c.id.in_(list(ids)),
            deliveries.c.status.in_(("pending", "retrying")),
        )
        .values(status="running", lease_token=token, locked_until=now + timedelta(minutes=1))
    )
    succeed = (
        update(deliveries)
        .where(deliveries.c.lease_token == token, deliveries.c.status == "running")
        .values(status="succeeded", finished_at=now, attempts=deliveries.c.attempts + 1)
        .returning(deliveries.c.id)
    )
    async with engine.begin() as connection:
        await connection.execute(claim)
        return set((await connection.execute(succeed)).scalars())


async def schedule_retry(engine: AsyncEngine, delivery_id: str, at: datetime) -> None:
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status.in_(("pending", "running")))
        .values(status="retrying", next_attempt_at=at, attempts=deliveries.c.attempts + 1)
    )
    async with engine.begin() as connection:
        assert (await connection.execute(statement)).rowcount == 1


async def count_by_status(engine: AsyncEngine) -> dict[str, int]:
    statement = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    async with engine.connect() as connection:
        return {status: n for status, n in (await connection.execute(statement)).all()}


async def count_unpublished(engine: AsyncEngine) -> int:
    statement = select(func.count()).where(deliveries.c.published_at.is_(None))
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def claim_with_lease(
    engine: AsyncEngine, ids: Iterable[str], now: datetime, lease: timedelta
) -> tuple[str, set[str]]:
    """The dispatcher's claim: ready rows, or running rows whose lease expired."""
    token = uuid.uuid4().hex
    table = deliveries.c
    claimable = or_(
        and_(table.status.in_(("pending", "retrying")), table.next_attempt_at <= now),
        and_(table.status == "running", table.locked_until < now),
    )
    statement = (
        update(deliveries)
        .where(table.id.in_(list(ids)), claimable)
        .values(status="running", lease_token=token, locked_until=now + lease)
        .returning(table.id)
    )
    async with engine.begin() as connection:
        return token, set((await connection.execute(statement)).scalars())


async def record_success(engine: AsyncEngine, token: str, now: datetime) -> set[str]:
    statement = (
        update(deliveries)
        .where(deliveries.c.lease_token == token, deliveries.c.status == "running")
        .values(status="succeeded", finished_at=now)
        .returning(deliveries.c.id)
    )
    async with engine.begin() as connection:
        return set((await connection.execute(statement)).scalars())
