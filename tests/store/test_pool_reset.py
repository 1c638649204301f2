"""A SQLite connection goes back to the pool clean, with no rollback after a commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.schema import events
from onewatch.store.transaction import SqlTransaction
from tests.store.test_events import event_values


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    # Used one request at a time, the pool holds one connection: each checkout is it.
    store = open_store(f"sqlite:///{tmp_path / 'onewatch.db'}")
    try:
        await store.migrate()
        yield store
    finally:
        await store.dispose()


@pytest.fixture
def engine(sqlite_store: SqlStore) -> AsyncEngine:
    return sqlite_store.engine


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        query = select(func.count()).select_from(events)
        return int((await connection.execute(query)).scalar_one())


async def _count_rollbacks(engine: AsyncEngine) -> list[str]:
    """Rollbacks asked of the pooled connection's driver from now on (each one is a trip
    to aiosqlite's thread and back)."""
    seen: list[str] = []
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    rollback = driver.rollback

    async def counted() -> None:
        seen.append("rollback")
        await rollback()

    driver.rollback = counted  # type: ignore[method-assign]
    return seen


async def test_a_transaction_left_open_is_rolled_back_on_return(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        # Behind SQLAlchemy's back, as a caller that went away might leave it.
        await driver.execute("BEGIN IMMEDIATE")
        assert driver.in_transaction
    async with engine.connect() as connection:
        assert (await connection.get_raw_connection()).driver_connection is driver
        assert not driver.in_transaction


async def test_a_committed_transaction_needs_no_rollback(
    sqlite_store: SqlStore, engine: AsyncEngine
) -> None:
    rollbacks = await _count_rollbacks(engine)  # the pool's only connection so far
    async with sqlite_store.write() as tx:
        assert isinstance(tx, SqlTransaction)
        await tx.connection.execute(events.insert(), [event_values("kept")])
    assert rollbacks == []
    assert await _count(engine) == 1


async def test_a_failed_transaction_still_rolls_back(
    sqlite_store: SqlStore, engine: AsyncEngine
) -> None:
    rollbacks = await _count_rollbacks(engine)
    with pytest.raises(RuntimeError):
        async with sqlite_store.write() as tx:
            assert isinstance(tx, SqlTransaction)
            await tx.connection.execute(events.insert(), [event_values("lost")])
            raise RuntimeError("the caller failed mid-transaction")
    assert rollbacks == ["rollback"]
    assert await _count(engine) == 0
