"""Queries on the ``actions`` table (SQLAlchemy Core; the same SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.errors import Conflict
from onewatch.store.constraints import is_unique_violation, sql_nulls
from onewatch.store.schema import actions, events


async def insert_action(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Insert one action; ``Conflict`` when (service, key) exists already."""
    try:
        result = await connection.execute(insert(actions).values(**sql_nulls(actions, values)))
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            f"action {values['service']}/{values['key']} exists already", field="key"
        ) from exc
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


async def get_action(connection: AsyncConnection, service: str, key: str) -> RowMapping | None:
    query = select(actions).where(actions.c.service == service, actions.c.key == key)
    return (await connection.execute(query)).mappings().first()


async def get_actions_by_identity(
    connection: AsyncConnection, identities: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], RowMapping]:
    """The stored actions among ``identities`` ((service, key) pairs), in one query."""
    if not identities:
        return {}
    query = select(actions).where(tuple_(actions.c.service, actions.c.key).in_(identities))
    rows = (await connection.execute(query)).mappings().all()
    return {(row["service"], row["key"]): row for row in rows}


async def list_actions(
    connection: AsyncConnection, *, service: str | None, after_id: int | None, limit: int
) -> Sequence[RowMapping]:
    """A page of actions in id order, after ``after_id``, of one service or of all."""
    query = select(actions).order_by(actions.c.id).limit(limit)
    if service is not None:
        query = query.where(actions.c.service == service)
    if after_id is not None:
        query = query.where(actions.c.id > after_id)
    return (await connection.execute(query)).mappings().all()


async def update_action(
    connection: AsyncConnection,
    action_id: int,
    expected_updated_at: datetime,
    values: Mapping[str, Any],
) -> bool:
    """Change an action if nobody changed it since it was read; False when someone did."""
    query = (
        update(actions)
        .where(actions.c.id == action_id, actions.c.updated_at == expected_updated_at)
        .values(**sql_nulls(actions, values))
    )
    return (await connection.execute(query)).rowcount == 1


async def delete_action(connection: AsyncConnection, action_id: int) -> bool:
    result = await connection.execute(delete(actions).where(actions.c.id == action_id))
    return result.rowcount == 1


async def count_events_using(connection: AsyncConnection, service: str, key: str) -> int:
    query = select(func.count()).where(events.c.service == service, events.c.action_key == key)
    return int((await connection.execute(query)).scalar_one())


async def url_params_of_events_using(
    connection: AsyncConnection, service: str, key: str
) -> Sequence[tuple[str, Any]]:
    """(event key, params) of each event firing this action: to recheck placeholders."""
    query = select(events.c.key, events.c.params).where(
        events.c.service == service, events.c.action_key == key
    )
    return [(row.key, row.params) for row in await connection.execute(query)]
