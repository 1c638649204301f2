"""Queries on the ``events`` table, and the manual delivery a trigger inserts.

Every change is a conditional update on the row's ``version`` (bumped each time), checked
by row count: the scheduler advances the same rows concurrently with its own conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    RowMapping,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import LIVE_EVENT_STATUSES, DeliveryKind, DeliveryStatus
from onewatch.errors import Conflict
from onewatch.store.constraints import is_unique_violation, sql_nulls
from onewatch.store.ids import new_delivery_id
from onewatch.store.records import EventFilter
from onewatch.store.schema import deliveries, events


async def insert_event(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Insert one event; ``Conflict`` when (service, key) exists already."""
    try:
        result = await connection.execute(insert(events).values(**sql_nulls(events, values)))
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            f"event {values['service']}/{values['key']} exists already", field="key"
        ) from exc
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


#: The nullable JSON columns take ``None`` as SQL NULL in a many-row insert (where
#: ``sql_nulls``' per-statement ``null()`` cannot go).
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
_NULLABLE_JSON = ("target", "retry_policy")


def insert_new_events_statement(insert_into: Callable[[Table], Insert]) -> Insert:
    """``INSERT INTO events ... ON CONFLICT DO NOTHING RETURNING *`` with the dialect's
    own ``insert`` construct (the one that knows ``ON CONFLICT``): each store runs it
    its own way (``Store.write().insert_new_events``). A (service, key) that exists
    already is skipped and absent from the answer: the caller reports it as a conflict."""
    statement: Any = insert_into(events)
    built: Insert = (
        statement.values({name: bindparam(name, type_=_JSON_OR_NULL) for name in _NULLABLE_JSON})
        .on_conflict_do_nothing()
        .returning(*events.c)
    )
    return built


async def get_events_by_identity(
    connection: AsyncConnection, identities: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], RowMapping]:
    """The stored events among ``identities`` ((service, key) pairs), in one query."""
    if not identities:
        return {}
    query = select(events).where(tuple_(events.c.service, events.c.key).in_(identities))
    rows = (await connection.execute(query)).mappings().all()
    return {(row["service"], row["key"]): row for row in rows}


async def get_event(connection: AsyncConnection, service: str, key: str) -> RowMapping | None:
    query = select(events).where(events.c.service == service, events.c.key == key)
    return (await connection.execute(query)).mappings().first()


async def list_events(
    connection: AsyncConnection, where: EventFilter, *, after_id: int | None, limit: int
) -> Sequence[RowMapping]:
    """A page of events in id order after ``after_id`` (keyset pagination)."""
    query = select(events).order_by(events.c.id).limit(limit)
    if where.service is not None:
        query = query.where(events.c.service == where.service)
    if where.status is not None:
        query = query.where(events.c.status == where.status)
    if where.action is not None:
        query = query.where(events.c.action_key == where.action)
    if where.search:
        query = query.where(_mentions(where.search))
    if after_id is not None:
        query = query.where(events.c.id > after_id)
    return (await connection.execute(query)).mappings().all()


def _mentions(text: str) -> Any:
    """Key or title contains ``text``, ignoring case; ``%`` and ``_`` match themselves."""
    needle = text.lower()
    return or_(
        func.lower(events.c.key).contains(needle, autoescape=True),
        func.lower(events.c.title).contains(needle, autoescape=True),
    )


async def count_live_events(connection: AsyncConnection, service: str) -> int:
    """How many of the service's events may still fire: what its event quota counts."""
    result = await connection.execute(
        select(func.count())
        .select_from(events)
        .where(events.c.service == service, events.c.status.in_(LIVE_EVENT_STATUSES))
    )
    return int(result.scalar_one())


async def update_event(
    connection: AsyncConnection, event_id: int, expected_version: int, values: Mapping[str, Any]
) -> bool:
    """Change an event still at ``expected_version``, bumping it; False when it moved on."""
    query = (
        update(events)
        .where(events.c.id == event_id, events.c.version == expected_version)
        .values(**sql_nulls(events, values), version=events.c.version + 1)
    )
    return (await connection.execute(query)).rowcount == 1


async def delete_event(connection: AsyncConnection, event_id: int) -> bool:
    result = await connection.execute(delete(events).where(events.c.id == event_id))
    return result.rowcount == 1


async def insert_manual_delivery(
    connection: AsyncConnection, event: RowMapping, now: datetime
) -> str:
    """A "run now" delivery: due at once, outside the schedule and its occurrence count.

    Its id comes from the scheduler's generator, so histories (ordered by id) stay
    newest first with scheduled and manual deliveries mixed.
    """
    delivery_id = new_delivery_id()
    values = {
        "id": delivery_id,
        "event_id": event["id"],
        "service": event["service"],
        "event_key": event["key"],
        "kind": DeliveryKind.MANUAL,
        "scheduled_for": now,
        "next_attempt_at": now,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await connection.execute(insert(deliveries).values(**values))
    except IntegrityError as exc:
        raise Conflict("this event was triggered at the same instant already") from exc
    return delivery_id
