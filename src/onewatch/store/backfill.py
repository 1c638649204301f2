"""Inserting a backfill's deliveries: each occurrence under its normal identity.

Atomicity owed: every row goes through ``INSERT ... ON CONFLICT DO NOTHING`` on the same
unique key (event_id, kind, scheduled_for) the scheduler inserts under, so an occurrence
that the scheduler, or an earlier backfill, created already is left as it was and a
repeated backfill creates nothing. The count comes from the rows the insert returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.schema import deliveries

#: Rows per statement: far inside SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


def _insert_ignoring_duplicates(connection: AsyncConnection) -> Insert:
    """``INSERT INTO deliveries ... ON CONFLICT DO NOTHING`` in the store's dialect."""
    insert_into = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement: Insert = insert_into(deliveries).on_conflict_do_nothing()
    return statement


async def insert_occurrences(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the delivery rows that do not exist yet; how many were new."""
    created = 0
    for start in range(0, len(rows), CHUNK):
        chunk = [dict(row) for row in rows[start : start + CHUNK]]
        statement = _insert_ignoring_duplicates(connection).values(chunk)
        result = await connection.execute(statement.returning(deliveries.c.id))
        created += len(result.scalars().all())
    return created
