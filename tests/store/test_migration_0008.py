"""0008 on a store with history: nothing is lost (on SQLite the deliveries and events
tables are rebuilt), and the new columns and statuses hold their rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store import open_store
from onewatch.store.migrate import alembic_config

_EVENT = text(
    "INSERT INTO events (id, service, key, target_type, target, params, pattern, timezone,"
    " status, created_at, updated_at) VALUES (7, 'a', 'k', 'webhook', '{}', '{}',"
    " '* * * * *', 'UTC', 'active', :t, :t)"
)
_DELIVERY = text(
    "INSERT INTO deliveries (id, event_id, service, event_key, scheduled_for, status,"
    " next_attempt_at, created_at, updated_at) VALUES (:id, 7, 'a', 'k', :t, :status,"
    " :t, :t, :t)"
)
_ATTEMPT = text(
    "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, outcome)"
    " VALUES ('d1', 1, :t, 'succeeded')"
)
_NEW_DELIVERY = text(
    "INSERT INTO deliveries (id, event_id, service, event_key, scheduled_for, status,"
    " next_attempt_at, created_at, updated_at, skip_reason) VALUES (:id, 7, 'a', 'k', :t,"
    " :status, :t, :t, :t, :reason)"
)


def _to_0006(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0006")


def _instant(engine: AsyncEngine, minute: int) -> Any:
    """An instant as each backend stores it in raw SQL (SQLite: integer microseconds)."""
    if engine.dialect.name == "sqlite":
        return minute * 60_000_000
    return datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)


async def _counts(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return [
            int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in ("events", "deliveries", "delivery_attempts")
        ]


async def _insert(engine: AsyncEngine, minute: int, status: str, reason: str | None) -> None:
    values = {"id": f"d{minute}", "t": _instant(engine, minute), "status": status}
    async with engine.begin() as connection:
        await connection.execute(_NEW_DELIVERY, {**values, "reason": reason})


async def test_history_survives_and_the_new_rules_hold(blank_store_url: str) -> None:
    store = open_store(blank_store_url)
    engine = store.engine
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to_0006)
            at = {"t": _instant(engine, 0)}
            await connection.execute(_EVENT, at)
            await connection.execute(_DELIVERY, {**at, "id": "d1", "status": "succeeded"})
            await connection.execute(_ATTEMPT, at)
        await store.migrate()
        assert await _counts(engine) == [1, 1, 1], "no row lost to a cascade while rebuilding"
        async with engine.connect() as connection:
            policy = await connection.execute(text("SELECT overlap, jitter_seconds FROM events"))
            assert tuple(policy.one()) == ("allow", 0)
        await _insert(engine, 2, "skipped", "overlap skip: d1 is still unfinished")
        await _insert(engine, 3, "buffered", None)
        for minute, status, reason in ((4, "skipped", None), (5, "pending", "a reason")):
            with pytest.raises(IntegrityError):
                await _insert(engine, minute, status, reason)
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE events SET overlap = 'sometimes'"))
        assert await _counts(engine) == [1, 3, 1]
    finally:
        await store.dispose()
