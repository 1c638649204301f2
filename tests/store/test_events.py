"""The events queries against a real, migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.errors import Conflict
from onewatch.store import events as store
from onewatch.store.schema import deliveries
from onewatch.store.transactions import write_transaction
from tests.support.databases import BACKENDS, migrated_engine

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def event_values(key: str = "e", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service": "alpha",
        "key": key,
        "title": None,
        "action_key": None,
        "target_type": "webhook",
        "target": {"endpoint": "https://h.example.org/"},
        "params": {},
        "pattern": "* * * * *",
        "timezone": "UTC",
        "separation": 1,
        "max_occurrences": None,
        "status": "active",
        "next_occurrence": NOW,
        "occurrences": 0,
        "retry_policy": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(changes)
    return values


async def _insert(engine: AsyncEngine, **changes: Any) -> int:
    async with write_transaction(engine) as connection:
        return await store.insert_event(connection, event_values(**changes))


async def test_unique_key_is_a_conflict_but_a_broken_check_is_not(engine: AsyncEngine) -> None:
    await _insert(engine)
    with pytest.raises(Conflict):
        await _insert(engine)
    # Neither an action nor a target: the database's own check refuses it.
    with pytest.raises(IntegrityError):
        await _insert(engine, key="nothing", target=None, target_type=None)


async def test_update_is_conditional_on_the_version(engine: AsyncEngine) -> None:
    event_id = await _insert(engine)
    async with write_transaction(engine) as connection:
        assert await store.update_event(connection, event_id, 1, {"status": "paused"})
        assert not await store.update_event(connection, event_id, 1, {"status": "active"})
        row = await store.get_event(connection, "alpha", "e")
    assert row is not None
    assert (row["status"], row["version"]) == ("paused", 2)


async def test_list_filters_compose(engine: AsyncEngine) -> None:
    await _insert(engine, key="a", action_key="x", target=None, target_type=None)
    await _insert(engine, key="b", status="paused")
    await _insert(engine, key="c", service="beta")
    async with engine.connect() as connection:

        async def keys(where: store.EventFilter) -> list[str]:
            rows = await store.list_events(connection, where, after_id=None, limit=10)
            return [row["key"] for row in rows]

        assert await keys(store.EventFilter(service="alpha")) == ["a", "b"]
        assert await keys(store.EventFilter(status="paused")) == ["b"]
        assert await keys(store.EventFilter(action="x")) == ["a"]
        assert await keys(store.EventFilter(service="beta", status="paused")) == []


async def test_a_manual_delivery_is_due_now_and_deleted_with_its_event(
    engine: AsyncEngine,
) -> None:
    event_id = await _insert(engine)
    async with write_transaction(engine) as connection:
        event = await store.get_event(connection, "alpha", "e")
        assert event is not None
        delivery_id = await store.insert_manual_delivery(connection, event, NOW)
    async with engine.connect() as connection:
        row = (await connection.execute(select(deliveries))).mappings().one()
    assert row["id"] == delivery_id
    assert row["event_id"] == event_id
    assert (row["scheduled_for"], row["next_attempt_at"]) == (NOW, NOW)
    async with write_transaction(engine) as connection:
        assert await store.delete_event(connection, event_id)
    async with engine.connect() as connection:
        assert (await connection.execute(select(deliveries))).first() is None
