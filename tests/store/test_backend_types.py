"""Instants, JSON and constraints behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.schema import events

SAO_PAULO = timezone(timedelta(hours=-3))


def event_row(key: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "service": "billing",
        "key": key,
        "target_type": "webhook",
        "target": {"endpoint": "http://127.0.0.1:9/x", "headers": {"X-A": ["1", "2"]}},
        "params": {"body": {"n": 1, "ok": True, "none": None, "name": "São Paulo"}},
        "pattern": "0 1 15 * *",
        "timezone": "America/Sao_Paulo",
        "status": "active",
        "next_occurrence": datetime(2026, 3, 15, 1, 0, 0, 123456, tzinfo=SAO_PAULO),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    row.update(overrides)
    return row


async def test_instants_come_back_aware_in_utc_and_json_round_trips(
    store_engine: AsyncEngine,
) -> None:
    async with store_engine.begin() as connection:
        await connection.execute(insert(events).values(**event_row("a")))
    async with store_engine.connect() as connection:
        row = (await connection.execute(select(events))).mappings().one()
    assert row["next_occurrence"] == datetime(2026, 3, 15, 4, 0, 0, 123456, tzinfo=UTC)
    assert row["next_occurrence"].utcoffset() == timedelta(0)
    assert row["params"] == event_row("a")["params"]
    assert row["target"]["headers"] == {"X-A": ["1", "2"]}
    assert row["separation"] == 1 and row["misfire_policy"] == "fire_once"


async def test_instants_compare_in_sql_as_instants(store_engine: AsyncEngine) -> None:
    early = datetime(2026, 3, 15, 3, 59, 59, tzinfo=UTC)
    async with store_engine.begin() as connection:
        await connection.execute(insert(events).values(**event_row("a")))
        due = select(events.c.key).where(events.c.next_occurrence <= early)
        assert (await connection.execute(due)).all() == []
        later = select(events.c.key).where(events.c.next_occurrence > early)
        assert (await connection.execute(later)).scalars().all() == ["a"]


async def test_naive_instants_are_refused(store_engine: AsyncEngine) -> None:
    naive = datetime(2026, 3, 15, 1, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        async with store_engine.begin() as connection:
            await connection.execute(insert(events).values(**event_row("a", created_at=naive)))


async def test_constraints_hold_on_every_backend(store_engine: AsyncEngine) -> None:
    async with store_engine.begin() as connection:
        await connection.execute(insert(events).values(**event_row("a")))
    with pytest.raises(IntegrityError):
        async with store_engine.begin() as connection:
            await connection.execute(insert(events).values(**event_row("a")))
    with pytest.raises(IntegrityError):
        async with store_engine.begin() as connection:
            await connection.execute(insert(events).values(**event_row("b", status="sleeping")))
