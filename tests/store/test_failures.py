"""``store.failures`` tells the store down or full from a bug, through SQLAlchemy's wrapping.

The errors are real: raised by SQLite and by a refused connection, or the driver's own
exception types for the PostgreSQL states a test cannot bring about (a full disk).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from onewatch.errors import StorageFull, StoreUnavailable
from onewatch.store import open_store
from onewatch.store.failures import store_failure


async def _error_from(url: str, *statements: str) -> BaseException:
    store = open_store(url)
    try:
        async with store.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    except Exception as exc:
        return exc
    finally:
        await store.dispose()
    raise AssertionError(f"{statements!r} did not fail")


async def test_a_refused_postgres_connection_is_unavailable() -> None:
    error = await _error_from("postgresql://nobody@127.0.0.1:1/none", "SELECT 1")
    assert type(store_failure(error)) is StoreUnavailable


async def test_sqlite_full_is_storage_full_and_a_constraint_is_a_bug(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    store = open_store(url)
    async with store.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO t VALUES ('a')"))
    await store.dispose()
    full = await _error_from(
        url, "PRAGMA max_page_count = 2", "INSERT INTO t SELECT hex(randomblob(5000))"
    )
    duplicate = await _error_from(url, "INSERT INTO t VALUES ('a')")
    assert type(store_failure(full)) is StorageFull
    assert store_failure(duplicate) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.exceptions.DiskFullError("no space"), StorageFull),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), StoreUnavailable),
        (asyncpg.exceptions.AdminShutdownError("terminating"), StoreUnavailable),
        (asyncpg.exceptions.TooManyConnectionsError("too many"), StoreUnavailable),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), StoreUnavailable),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), None),
        (sqlite3.OperationalError("no such table"), None),
        (OSError("not raised by a driver"), None),
        (KeyError("a bug"), None),
    ],
)
def test_each_kind_of_error(error: Exception, expected: type[StoreUnavailable] | None) -> None:
    wrapped = DBAPIError("statement", {}, error)
    for candidate in (error, wrapped):
        found = store_failure(candidate)
        assert (None if found is None else type(found)) is expected, repr(candidate)
