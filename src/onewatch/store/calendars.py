"""Queries on the ``calendars`` table, and on the events that follow a calendar.

An event keeps a copy of its calendar's rules (``events.calendar_rules``) so the
scheduler plans from the event row alone. Whoever changes a calendar locks its row first
(``lock_calendar``) and rewrites every copy in the same transaction; whoever writes an
event that names a calendar reads it with a shared lock (``get_calendar(..., share=True)``),
so on PostgreSQL the two serialise and no event is left with old rules. SQLite has one
writer at a time, which serialises them already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.errors import Conflict
from onewatch.store.constraints import is_unique_violation
from onewatch.store.schema import calendars, events


async def insert_calendar(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Insert one calendar; ``Conflict`` when (service, key) exists already."""
    try:
        result = await connection.execute(insert(calendars).values(**values))
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            f"calendar {values['service']}/{values['key']} exists already", field="key"
        ) from exc
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


async def get_calendar(
    connection: AsyncConnection, service: str, key: str, *, share: bool = False
) -> RowMapping | None:
    """The calendar; ``share``: hold it against changes until the transaction ends."""
    query = select(calendars).where(calendars.c.service == service, calendars.c.key == key)
    if share:
        query = query.with_for_update(read=True)
    return (await connection.execute(query)).mappings().first()


async def lock_calendar(connection: AsyncConnection, service: str, key: str) -> RowMapping | None:
    """The calendar, locked for a change (PostgreSQL ``FOR UPDATE``)."""
    query = (
        select(calendars)
        .where(calendars.c.service == service, calendars.c.key == key)
        .with_for_update()
    )
    return (await connection.execute(query)).mappings().first()


async def get_calendars_by_identity(
    connection: AsyncConnection, identities: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], RowMapping]:
    """The calendars among ``identities`` ((service, key) pairs), share-locked, in one query."""
    if not identities:
        return {}
    query = (
        select(calendars)
        .where(tuple_(calendars.c.service, calendars.c.key).in_(identities))
        .with_for_update(read=True)
    )
    rows = (await connection.execute(query)).mappings().all()
    return {(row["service"], row["key"]): row for row in rows}


async def list_calendars(
    connection: AsyncConnection, *, service: str | None, after_id: int | None, limit: int
) -> Sequence[RowMapping]:
    """A page of calendars in id order, after ``after_id``, of one service or of all."""
    query = select(calendars).order_by(calendars.c.id).limit(limit)
    if service is not None:
        query = query.where(calendars.c.service == service)
    if after_id is not None:
        query = query.where(calendars.c.id > after_id)
    return (await connection.execute(query)).mappings().all()


async def update_calendar(
    connection: AsyncConnection, calendar_id: int, expected_version: int, values: Mapping[str, Any]
) -> bool:
    """Change a calendar still at ``expected_version``, bumping it; False when it moved on."""
    query = (
        update(calendars)
        .where(calendars.c.id == calendar_id, calendars.c.version == expected_version)
        .values(**values, version=calendars.c.version + 1)
    )
    return (await connection.execute(query)).rowcount == 1


async def delete_calendar(connection: AsyncConnection, calendar_id: int) -> bool:
    result = await connection.execute(delete(calendars).where(calendars.c.id == calendar_id))
    return result.rowcount == 1


async def keys_of_events_using(
    connection: AsyncConnection, service: str, key: str, *, limit: int
) -> tuple[int, list[str]]:
    """How many events follow the calendar, and the keys of the first ``limit`` of them."""
    where = (events.c.service == service, events.c.calendar_key == key)
    count = (await connection.execute(select(func.count()).where(*where))).scalar_one()
    keys = await connection.execute(
        select(events.c.key).where(*where).order_by(events.c.id).limit(limit)
    )
    return int(count), list(keys.scalars().all())


async def events_using(connection: AsyncConnection, service: str, key: str) -> Sequence[RowMapping]:
    """Every event that follows the calendar, locked (to rewrite its copy and next fire;
    a PostgreSQL scheduler claims with SKIP LOCKED, so it passes them by meanwhile)."""
    query = (
        select(events)
        .where(events.c.service == service, events.c.calendar_key == key)
        .order_by(events.c.id)
        .with_for_update()
    )
    return (await connection.execute(query)).mappings().all()
