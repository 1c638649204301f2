"""Opening the store: users write plain URLs, the driver is Onewatch's business."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from onewatch.errors import ConfigurationError

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(plain: str) -> URL:
    """Turn ``sqlite:///f.db`` or ``postgresql://...`` into the async driver's URL."""
    try:
        url = make_url(plain)
    except Exception as exc:
        raise ConfigurationError(f"not a database URL: {exc}", field="database_url") from exc
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ConfigurationError(
            f"unsupported database {backend!r}; use sqlite:/// or postgresql://",
            field="database_url",
        )
    if "+" in url.drivername:
        return url
    return url.set(drivername=_ASYNC_DRIVERS[backend])


def libpq_url(plain_url: str) -> str:
    """A PostgreSQL URL as asyncpg (and libpq) take it: ``postgresql://``, no ``+driver``."""
    url = async_url(plain_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("LISTEN/NOTIFY needs a PostgreSQL URL", field="database_url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


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


async def sqlite_driver(connection: AsyncConnection) -> Any:
    """The aiosqlite connection under ``connection``: one of its calls is one trip to its
    thread, where SQLAlchemy's cursor wrapper makes three or four (``store.one_trip``)."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


def create_engine(plain_url: str, **options: Any) -> AsyncEngine:
    """Create the async engine for a plain URL, with each backend's settings applied."""
    url = async_url(plain_url)
    if url.get_backend_name() == "sqlite":
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
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **options)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def answers(connection: AsyncConnection) -> None:
    """Raise unless the database answers a trivial query (the readiness probe)."""
    await connection.execute(text("SELECT 1"))


def sqlite_wal_file(engine: AsyncEngine) -> Path | None:
    """The write-ahead log beside a SQLite database file (None: in memory, or no file)."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        return None
    return Path(database + "-wal")


async def checkpoint_sqlite_wal(engine: AsyncEngine) -> None:
    """Copy the write-ahead log back into the database beside the writers (PASSIVE:
    it waits for no one, and a committing writer need not checkpoint itself)."""
    async with engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
