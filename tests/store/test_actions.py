"""The actions queries against a real, migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.errors import Conflict
from onewatch.store import actions as store
from onewatch.store.transactions import write_transaction
from tests.support.databases import BACKENDS, migrated_engine

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(request.param, tmp_path) as engine:
        yield engine


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


async def test_insert_get_and_unique_service_key(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as connection:
        first = await store.insert_action(connection, action_values())
        await store.insert_action(connection, action_values(service="beta"))
    with pytest.raises(Conflict):
        async with write_transaction(engine) as connection:
            await store.insert_action(connection, action_values())
    async with engine.connect() as connection:
        row = await store.get_action(connection, "alpha", "notify")
        absent = await store.get_action(connection, "gamma", "notify")
    assert row is not None
    assert row["id"] == first
    assert row["retry_policy"] is None
    assert row["created_at"] == NOW
    assert absent is None


async def test_update_is_conditional_on_what_was_read(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as connection:
        action_id = await store.insert_action(connection, action_values())
    later = NOW + timedelta(seconds=1)
    async with write_transaction(engine) as connection:
        assert await store.update_action(connection, action_id, NOW, {"updated_at": later})
        # A second writer that read the old row loses: nothing changes.
        assert not await store.update_action(
            connection, action_id, NOW, {"payload": {"x": 1}, "updated_at": later}
        )
        row = await store.get_action(connection, "alpha", "notify")
    assert row is not None
    assert row["payload"] == {}


async def test_list_pages_by_id_and_filters_by_service(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as connection:
        for number in range(4):
            await store.insert_action(connection, action_values(key=f"a{number}"))
        await store.insert_action(connection, action_values(service="beta"))
    async with engine.connect() as connection:
        first = await store.list_actions(connection, service="alpha", after_id=None, limit=3)
        rest = await store.list_actions(
            connection, service="alpha", after_id=first[-1]["id"], limit=3
        )
        everyone = await store.list_actions(connection, service=None, after_id=None, limit=10)
    assert [row["key"] for row in first] == ["a0", "a1", "a2"]
    assert [row["key"] for row in rest] == ["a3"]
    assert len(everyone) == 5
