"""The migrations create exactly the schema that ``schema.py`` declares, on each backend."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from onewatch.store.database import create_engine
from onewatch.store.migrate import alembic_config, is_current, upgrade_to_head
from onewatch.store.schema import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_metadata(blank_store_url: str) -> None:
    engine = create_engine(blank_store_url)
    try:
        assert not await is_current(engine)
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # a second run is a no-op
        assert await is_current(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_then_upgrade_again(blank_store_url: str) -> None:
    engine = create_engine(blank_store_url)
    try:
        await upgrade_to_head(engine)
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) <= {"alembic_version"}
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_nodes_starting_together_migrate_once(blank_store_url: str) -> None:
    if not blank_store_url.startswith("postgresql"):
        pytest.skip("several nodes on one store is the PostgreSQL set-up")
    engines = [create_engine(blank_store_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade_to_head(engine) for engine in engines))
        assert await is_current(engines[0])
        async with engines[0].connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        for engine in engines:
            await engine.dispose()
