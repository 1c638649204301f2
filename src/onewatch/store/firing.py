"""The scheduler's one transaction: claim due events, insert deliveries, advance events.

Atomicity owed: an event's advance and the deliveries of the occurrences it passed
commit together or not at all. Every event update is conditional on the ``version`` and
``status`` that were read, so a concurrent API change or a second scheduler makes it
match no row; the unique key (event_id, kind, scheduled_for) turns a duplicate delivery
insert into a no-op. On PostgreSQL the due rows are read ``FOR UPDATE SKIP LOCKED`` so
two schedulers split a burst instead of colliding; on SQLite there is one writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.domain.statuses import DeliveryKind, DeliveryStatus, EventStatus
from onewatch.store.ids import new_delivery_id
from onewatch.store.many import ManyRows
from onewatch.store.schema import deliveries, events
from onewatch.store.writer import writing


@dataclass(frozen=True)
class DueEvent:
    """What the scheduler needs of a due event to plan its fires."""

    id: int
    service: str
    key: str
    pattern: str
    timezone: str
    separation: int
    max_occurrences: int | None
    start_at: datetime | None
    end_at: datetime | None
    next_occurrence: datetime
    occurrences: int
    misfire_policy: str
    misfire_grace_seconds: int
    version: int
    #: The event's copy of its business calendar's rules, and how it follows them.
    calendar_rules: dict[str, Any] | None = None
    non_business_day: str | None = None
    business_day: int | None = None


@dataclass(frozen=True)
class Advance:
    """A due event's new state and the due instants of the deliveries it makes."""

    event: DueEvent
    fires: Sequence[datetime]
    next_occurrence: datetime | None
    occurrences: int

    @property
    def status(self) -> str:
        return EventStatus.ACTIVE if self.next_occurrence is not None else EventStatus.COMPLETED


@dataclass(frozen=True)
class FireBatch:
    events_advanced: int
    deliveries_created: int
    #: True when the batch was full: more may be due right now.
    full: bool


_DUE_COLUMNS = [getattr(events.c, name) for name in DueEvent.__dataclass_fields__]


def insert_ignoring_duplicates(connection: AsyncConnection) -> Insert:
    """``INSERT INTO deliveries ... ON CONFLICT DO NOTHING`` in the store's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(deliveries).on_conflict_do_nothing()
    return sqlite.insert(deliveries).on_conflict_do_nothing()


async def earliest_due(engine: AsyncEngine) -> datetime | None:
    """The earliest ``next_occurrence`` of an active event (the scheduler's alarm)."""
    query = (
        select(events.c.next_occurrence)
        .where(events.c.status == EventStatus.ACTIVE, events.c.next_occurrence.is_not(None))
        .order_by(events.c.next_occurrence)
        .limit(1)
    )
    async with engine.connect() as connection:
        value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def _due_events(connection: AsyncConnection, horizon: datetime, limit: int) -> list[DueEvent]:
    query = (
        select(*_DUE_COLUMNS)
        .where(events.c.status == EventStatus.ACTIVE, events.c.next_occurrence <= horizon)
        .order_by(events.c.next_occurrence)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await connection.execute(query)).all()
    return [DueEvent(**row._mapping) for row in rows]


_ADVANCE_STATEMENT = (
    update(events)
    .where(
        events.c.id == bindparam("b_id"),
        events.c.version == bindparam("b_version"),
        events.c.status == EventStatus.ACTIVE,
    )
    .values(
        next_occurrence=bindparam("b_next"),
        occurrences=bindparam("b_occurrences"),
        status=bindparam("b_status"),
        version=events.c.version + 1,
        updated_at=bindparam("b_now"),
    )
)
_ADVANCE = ManyRows(_ADVANCE_STATEMENT)


def _advance_params(advance: Advance, now: datetime) -> dict[str, Any]:
    return {
        "b_id": advance.event.id,
        "b_version": advance.event.version,
        "b_next": advance.next_occurrence,
        "b_occurrences": advance.occurrences,
        "b_status": advance.status,
        "b_now": now,
    }


_DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "service",
    "event_key",
    "kind",
    "scheduled_for",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)
_INSERT_DELIVERIES = {
    name: ManyRows(module.insert(deliveries).on_conflict_do_nothing(), _DELIVERY_COLUMNS)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _delivery_rows(advances: Sequence[Advance], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": new_delivery_id(),
            "event_id": advance.event.id,
            "service": advance.event.service,
            "event_key": advance.event.key,
            "kind": DeliveryKind.SCHEDULED,
            "scheduled_for": due,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
            "updated_at": now,
        }
        for advance in advances
        for due in advance.fires
    ]


async def _insert_deliveries(
    connection: AsyncConnection, advances: Sequence[Advance], now: datetime
) -> int:
    rows = _delivery_rows(advances, now)
    if rows:
        await _INSERT_DELIVERIES[connection.dialect.name].execute(connection, rows)
    return len(rows)


async def _advance_one_by_one(
    connection: AsyncConnection, advances: Sequence[Advance], now: datetime
) -> tuple[int, int]:
    """The slow path after a batch lost a race: keep only the events still unchanged."""
    kept = []
    for advance in advances:
        changed = await _ADVANCE.execute(connection, [_advance_params(advance, now)])
        if changed == 1:
            kept.append(advance)
    return len(kept), await _insert_deliveries(connection, kept, now)


#: PostgreSQL: the whole batch in one statement that names the rows it changed (asyncpg
#: reports no row count for an executemany, so the count check below cannot work there).
_ADVANCE_RETURNING_PG = text(
    """
    UPDATE events AS e
    SET next_occurrence = v.next_occurrence, occurrences = v.occurrences, status = v.status,
        version = e.version + 1, updated_at = :now
    FROM unnest(
        CAST(:ids AS BIGINT[]), CAST(:versions AS INTEGER[]),
        CAST(:next_occurrences AS TIMESTAMPTZ[]), CAST(:occurrences AS INTEGER[]),
        CAST(:statuses AS VARCHAR[])
    ) AS v(id, version, next_occurrence, occurrences, status)
    WHERE e.id = v.id AND e.version = v.version AND e.status = 'active'
    RETURNING e.id
    """
)


async def _apply_returning(
    connection: AsyncConnection, advances: list[Advance], now: datetime
) -> tuple[int, int]:
    """PostgreSQL: advance what is unchanged, then insert the deliveries of those only."""
    columns = {
        "ids": [a.event.id for a in advances],
        "versions": [a.event.version for a in advances],
        "next_occurrences": [a.next_occurrence for a in advances],
        "occurrences": [a.occurrences for a in advances],
        "statuses": [a.status for a in advances],
    }
    result = await connection.execute(_ADVANCE_RETURNING_PG, {**columns, "now": now})
    changed = set(result.scalars().all())
    kept = [advance for advance in advances if advance.event.id in changed]
    return len(kept), await _insert_deliveries(connection, kept, now)


async def _apply(
    engine: AsyncEngine, connection: AsyncConnection, advances: list[Advance], now: datetime
) -> tuple[int, int]:
    if connection.dialect.name == "postgresql":
        return await _apply_returning(connection, advances, now)
    params = [_advance_params(advance, now) for advance in advances]
    changed = await _ADVANCE.execute(connection, params)
    if changed == len(advances):
        return len(advances), await _insert_deliveries(connection, advances, now)
    await connection.rollback()
    async with engine.begin() as retry:
        return await _advance_one_by_one(retry, advances, now)


async def fire_due_events(
    engine: AsyncEngine,
    *,
    now: datetime,
    horizon: datetime,
    limit: int,
    plan: Callable[[DueEvent], Advance],
) -> FireBatch:
    """Claim up to ``limit`` events due by ``horizon``, plan each, commit it all at once."""
    async with writing(engine), engine.connect() as connection:
        await connection.begin()
        due = await _due_events(connection, horizon, limit)
        if not due:
            await connection.rollback()
            return FireBatch(0, 0, full=False)
        advances = [plan(event) for event in due]
        advanced, created = await _apply(engine, connection, advances, now)
        if connection.in_transaction():
            await connection.commit()
    return FireBatch(advanced, created, full=len(due) == limit)
