"""The events queries against a real, migrated SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from onewatch.errors import Conflict
from onewatch.store.base import SqlStore
from onewatch.store.records import EventFilter
from onewatch.store.schema import deliveries

NOW = datetime(2030, 1, 1, tzinfo=UTC)


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


async def _insert(store: SqlStore, **changes: Any) -> int:
    async with store.write() as tx:
        return await tx.insert_event(event_values(**changes))


async def test_unique_key_is_a_conflict_but_a_broken_check_is_not(store: SqlStore) -> None:
    await _insert(store)
    with pytest.raises(Conflict):
        await _insert(store)
    # Neither an action nor a target: the database's own check refuses it.
    with pytest.raises(IntegrityError):
        await _insert(store, key="nothing", target=None, target_type=None)


async def test_update_is_conditional_on_the_version(store: SqlStore) -> None:
    event_id = await _insert(store)
    async with store.write() as tx:
        assert await tx.update_event(event_id, 1, {"status": "paused"})
        assert not await tx.update_event(event_id, 1, {"status": "active"})
        row = await tx.get_event("alpha", "e")
    assert row is not None
    assert (row["status"], row["version"]) == ("paused", 2)


async def test_list_filters_compose(store: SqlStore) -> None:
    await _insert(store, key="a", action_key="x", target=None, target_type=None)
    await _insert(store, key="b", status="paused")
    await _insert(store, key="c", service="beta")
    async with store.read() as tx:

        async def keys(where: EventFilter) -> list[str]:
            rows = await tx.list_events(where, after_id=None, limit=10)
            return [row["key"] for row in rows]

        assert await keys(EventFilter(service="alpha")) == ["a", "b"]
        assert await keys(EventFilter(status="paused")) == ["b"]
        assert await keys(EventFilter(action="x")) == ["a"]
        assert await keys(EventFilter(service="beta", status="paused")) == []


async def test_a_manual_delivery_is_due_now_and_deleted_with_its_event(
    store: SqlStore,
) -> None:
    event_id = await _insert(store)
    async with store.write() as tx:
        event = await tx.get_event("alpha", "e")
        assert event is not None
        delivery_id = await tx.insert_manual_delivery(event, NOW)
    async with store.engine.connect() as connection:
        row = (await connection.execute(select(deliveries))).mappings().one()
    assert row["id"] == delivery_id
    assert row["event_id"] == event_id
    assert (row["scheduled_for"], row["next_attempt_at"]) == (NOW, NOW)
    async with store.write() as tx:
        assert await tx.delete_event(event_id)
    async with store.engine.connect() as connection:
        assert (await connection.execute(select(deliveries))).first() is None
