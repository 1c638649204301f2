"""Reading the store directly, to check what an API call did (or did not) change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.schema import actions, audit_log, deliveries, events


async def snapshot(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables the API writes, in id order: equal before and after = no change."""
    tables = {
        "actions": actions,
        "events": events,
        "deliveries": deliveries,
        "audit_log": audit_log,  # a refused change leaves no audit entry either
    }
    result: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as connection:
        for name, table in tables.items():
            rows = await connection.execute(select(table).order_by(table.c.id))
            result[name] = [dict(row) for row in rows.mappings()]
    return result
