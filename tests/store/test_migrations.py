"""The migrations create exactly the schema that ``schema.py`` declares, on each backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text

from onewatch.store import open_store
from onewatch.store.migrate import HEAD_REVISION, alembic_config, head_revisions
from onewatch.store.schema import events, metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_head_revision_is_alembics_head() -> None:
    """A node whose schema is current starts without Alembic by trusting this constant:
    a new migration must move it."""
    assert head_revisions() == {HEAD_REVISION}


async def test_migrated_schema_matches_metadata(blank_store_url: str) -> None:
    store = open_store(blank_store_url)
    try:
        assert not await store.is_current()
        await store.migrate()
        await store.migrate()  # a second run is a no-op
        assert await store.is_current()
        async with store.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await store.dispose()


async def test_downgrade_to_base_then_upgrade_again(blank_store_url: str) -> None:
    store = open_store(blank_store_url)
    engine = store.engine
    try:
        await store.migrate()
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) <= {"alembic_version"}
        await store.migrate()
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await store.dispose()


async def test_nodes_starting_together_migrate_once(blank_store_url: str) -> None:
    if not blank_store_url.startswith("postgresql"):
        pytest.skip("several nodes on one store is the PostgreSQL set-up")
    stores = [open_store(blank_store_url) for _ in range(3)]
    try:
        await asyncio.gather(*(store.migrate() for store in stores))
        assert await stores[0].is_current()
        async with stores[0].engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        for store in stores:
            await store.dispose()


def _upgrade_to_0004(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0004")


def _downgrade_to_0004(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0004")


_OLD_EVENT = (
    "INSERT INTO events (service, key, target_type, target, params, pattern, timezone,"
    " status, next_occurrence, created_at, updated_at) VALUES ('a', 'k', 'webhook',"
    " '{\"endpoint\": \"http://127.0.0.1:9/\"}', '{}', '* * * * *', 'UTC', 'active',"
    " '2026-03-15 04:00:00.123456', '1969-12-31 23:59:59.500000', '2026-01-01 00:00:00.000000')"
)


async def test_sqlite_instants_become_integers_and_back(tmp_path: Path) -> None:
    """0005 rewrites the text instants 0001-0004 stored; the type then reads them exactly."""
    store = open_store(f"sqlite:///{tmp_path / 'onewatch.db'}")
    engine = store.engine
    query = select(events.c.next_occurrence, events.c.created_at, events.c.updated_at)
    raw = text("SELECT next_occurrence, typeof(next_occurrence), created_at FROM events")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to_0004)
            await connection.execute(text(_OLD_EVENT))
        await store.migrate()
        async with engine.connect() as connection:
            row = (await connection.execute(query)).one()
            assert (await connection.execute(raw)).one()[1] == "integer"
        assert tuple(row) == (
            datetime(2026, 3, 15, 4, 0, 0, 123456, tzinfo=UTC),
            datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        )
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_0004)
            back = (await connection.execute(raw)).one()
        assert tuple(back) == ("2026-03-15 04:00:00.123456", "text", "1969-12-31 23:59:59.500000")
    finally:
        await store.dispose()
