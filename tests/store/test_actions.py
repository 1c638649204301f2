"""The actions queries against a real, migrated SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onewatch.errors import Conflict
from onewatch.store.base import SqlStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def action_values(service: str = "alpha", key: str = "notify", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service": service,
        "key": key,
        "type": "webhook",
        "target": {"endpoint": "https://h.example.org/<id>", "method": "POST"},
        "payload": {},
        "retry_policy": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(changes)
    return values


async def test_insert_get_and_unique_service_key(store: SqlStore) -> None:
    async with store.write() as tx:
        first = await tx.insert_action(action_values())
        await tx.insert_action(action_values(service="beta"))
    with pytest.raises(Conflict):
        async with store.write() as tx:
            await tx.insert_action(action_values())
    async with store.read() as tx:
        row = await tx.get_action("alpha", "notify")
        absent = await tx.get_action("gamma", "notify")
    assert row is not None
    assert row["id"] == first
    assert row["retry_policy"] is None
    assert row["created_at"] == NOW
    assert absent is None


async def test_update_is_conditional_on_what_was_read(store: SqlStore) -> None:
    async with store.write() as tx:
        action_id = await tx.insert_action(action_values())
    later = NOW + timedelta(seconds=1)
    async with store.write() as tx:
        assert await tx.update_action(action_id, NOW, {"updated_at": later})
        # A second writer that read the old row loses: nothing changes.
        assert not await tx.update_action(
            action_id, NOW, {"payload": {"x": 1}, "updated_at": later}
        )
        row = await tx.get_action("alpha", "notify")
    assert row is not None
    assert row["payload"] == {}


async def test_list_pages_by_id_and_filters_by_service(store: SqlStore) -> None:
    async with store.write() as tx:
        for number in range(4):
            await tx.insert_action(action_values(key=f"a{number}"))
        await tx.insert_action(action_values(service="beta"))
    async with store.read() as tx:
        first = await tx.list_actions(service="alpha", after_id=None, limit=3)
        rest = await tx.list_actions(service="alpha", after_id=first[-1]["id"], limit=3)
        everyone = await tx.list_actions(service=None, after_id=None, limit=10)
    assert [row["key"] for row in first] == ["a0", "a1", "a2"]
    assert [row["key"] for row in rest] == ["a3"]
    assert len(everyone) == 5
