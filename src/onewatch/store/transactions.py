"""Write transactions that take the database's write lock up front.

On SQLite a deferred transaction that reads and then writes fails at once with "database
is locked" when another writer (the scheduler, on the same file) committed in between:
``BEGIN IMMEDIATE`` takes the write lock first and waits for it (``busy_timeout``).
PostgreSQL needs nothing special: conditional updates there are checked by row count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.store.database import sqlite_driver
from onewatch.store.writer import writing


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside one transaction, committed on success, rolled back on error.

    It also takes this process's write turn (``store.writer``), so API writes queue in
    the event loop behind the scheduler's and the dispatcher's instead of inside SQLite.
    """
    async with writing(engine), engine.connect() as connection, connection.begin():
        if engine.dialect.name == "sqlite":
            await _begin_immediate(connection)
        yield connection


async def _begin_immediate(connection: AsyncConnection) -> None:
    """``BEGIN IMMEDIATE`` in one trip to aiosqlite's thread.

    Through SQLAlchemy's cursor wrapper a statement is three trips (open a cursor,
    execute, close it), each one back through the event loop, which under load is most
    of a short transaction's time. SQLAlchemy's own ``begin()`` sends nothing to SQLite,
    so its commit and rollback end the transaction begun here.
    """
    driver = await sqlite_driver(connection)
    # execute_fetchall: its cursor lives and dies in aiosqlite's thread (no close trip).
    await driver.execute_fetchall("BEGIN IMMEDIATE")


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only (one consistent snapshot per statement)."""
    async with engine.connect() as connection:
        yield connection
