"""Where things are kept: one ``ports.Store`` per database, opened from a plain URL.

Outside ``store/``, code imports from here only ``open_store`` and ``store_failure``, and
the plain records of ``store.records``; everything else goes through the ``Store``
protocol (``ports.Store``), so no caller knows which database it talks to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from onewatch.store.database import async_url
from onewatch.store.failures import store_failure

if TYPE_CHECKING:
    from onewatch.store.base import SqlStore


def open_store(plain_url: str, **options: Any) -> SqlStore:
    """The store for ``sqlite:///...`` or ``postgresql://...`` (not connected yet).

    ``options`` go to SQLAlchemy's ``create_async_engine``. Each store's module is
    imported only when its URL is opened: a SQLite node never loads asyncpg (megabytes
    of a node's RSS).
    """
    url = async_url(plain_url)
    if url.get_backend_name() == "sqlite":
        from onewatch.store.sqlite.engine import create_sqlite_engine
        from onewatch.store.sqlite.store import SqliteStore

        return SqliteStore(create_sqlite_engine(url, **options))
    from onewatch.store.postgres.engine import create_postgres_engine
    from onewatch.store.postgres.store import PostgresStore
    from onewatch.store.postgres.wakeup import wakeup_hub_for

    return PostgresStore(create_postgres_engine(url, **options), wakeup_hub_for(plain_url))


__all__ = ["open_store", "store_failure"]
