"""The scheduler's statements: read due events, advance them, rows of their deliveries.

``Store.fire_due_events`` runs them in one transaction, each dialect with its own batch
statements (``store.sqlite``, ``store.postgres``).

Atomicity owed: an event's advance and the deliveries of the occurrences it passed
commit together or not at all. Every event update is conditional on the ``version`` and
``status`` that were read, so a concurrent API change or a second scheduler makes it
match no row; the unique key (event_id, kind, scheduled_for) turns a duplicate delivery
insert into a no-op. On PostgreSQL the due rows are read ``FOR UPDATE SKIP LOCKED`` so
two schedulers split a burst instead of colliding; on SQLite there is one writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import DeliveryKind, DeliveryStatus, EventStatus
from onewatch.store.ids import new_delivery_id
from onewatch.store.many import ManyRows
from onewatch.store.records import Advance, DueEvent
from onewatch.store.schema import events

_DUE_COLUMNS = [getattr(events.c, name) for name in DueEvent.__dataclass_fields__]


async def earliest_due(connection: AsyncConnection) -> datetime | None:
    """The earliest ``next_occurrence`` of an active event (the scheduler's alarm)."""
    query = (
        select(events.c.next_occurrence)
        .where(events.c.status == EventStatus.ACTIVE, events.c.next_occurrence.is_not(None))
        .order_by(events.c.next_occurrence)
        .limit(1)
    )
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def due_events(connection: AsyncConnection, horizon: datetime, limit: int) -> list[DueEvent]:
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
ADVANCE = ManyRows(_ADVANCE_STATEMENT)


def advance_params(advance: Advance, now: datetime) -> dict[str, Any]:
    return {
        "b_id": advance.event.id,
        "b_version": advance.event.version,
        "b_next": advance.next_occurrence,
        "b_occurrences": advance.occurrences,
        "b_status": advance.status,
        "b_now": now,
    }


DELIVERY_COLUMNS = (
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


def delivery_rows(advances: Sequence[Advance], now: datetime) -> list[dict[str, Any]]:
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
