"""The SQLite engine: pragmas on every connection, a cheaper pool reset, the WAL file."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

#: Prepared statements each SQLite connection keeps (Python's default is 128). An IN list
#: renders one SQL text per length, so claims, recorded batches and lease renewals of
#: varying sizes filled all 128 per pooled connection, native heap for nothing, at no
#: gain in CPU per fire (BENCHMARKS.md, "Third round"). The few statements in steady
#: use stay prepared.
SQLITE_CACHED_STATEMENTS = 16


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL is durable across process
    # crashes in WAL mode (only an OS crash can lose the last commits).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _roll_back_if_open(
    dbapi_connection: Any, record: ConnectionPoolEntry, state: PoolResetState
) -> None:
    """The pool's reset on return, only when a transaction is still open.

    SQLAlchemy's default rolls back every connection it takes back, even one whose
    transaction just committed: one more trip to aiosqlite's thread and back through the
    event loop per transaction, about a tenth of a grouped create's time under load.
    SQLite says itself whether a transaction is open (``in_transaction``, no trip).
    """
    if state.terminate_only or not state.asyncio_safe or state.transaction_was_reset:
        return  # nothing to do, or nowhere to do it (SQLAlchemy would skip it too)
    if record.driver_connection is not None and record.driver_connection.in_transaction:
        dbapi_connection.rollback()


def create_sqlite_engine(url: URL, **options: Any) -> AsyncEngine:
    """The async engine on a SQLite file (its folder made), every connection in WAL mode."""
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"cached_statements": SQLITE_CACHED_STATEMENTS}
    options["connect_args"] = connect_args | options.get("connect_args", {})
    options.setdefault("pool_reset_on_return", None)  # _roll_back_if_open does it
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    if options["pool_reset_on_return"] is None:
        event.listen(engine.sync_engine, "reset", _roll_back_if_open)
    return engine


def sqlite_wal_file(engine: AsyncEngine) -> Path | None:
    """The write-ahead log beside a SQLite database file (None: in memory, or no file)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database + "-wal")


async def checkpoint_sqlite_wal(engine: AsyncEngine) -> None:
    """Copy the write-ahead log back into the database beside the writers (PASSIVE:
    it waits for no one, and a committing writer need not checkpoint itself)."""
    async with engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))


async def sqlite_head_room_bytes(connection: AsyncConnection) -> int | None:
    """How far the SQLite file can still grow: the lesser of the free disk space and its
    ``max_page_count``, plus the free pages inside it (None for an in-memory database)."""
    database = connection.engine.url.database
    if not database or database == ":memory:":
        return None
    pragmas = {}
    for name in ("page_size", "page_count", "max_page_count", "freelist_count"):
        pragmas[name] = int((await connection.execute(text(f"PRAGMA {name}"))).scalar_one())
    page = pragmas["page_size"]
    reusable = pragmas["freelist_count"] * page
    by_limit = (pragmas["max_page_count"] - pragmas["page_count"]) * page
    by_disk = shutil.disk_usage(PurePath(database).parent).free  # one statvfs: no wait
    return min(by_limit, by_disk) + reusable
