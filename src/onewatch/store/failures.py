"""The one place that tells "the store is down" and "the storage is full" from a bug.

A failure reaches the API or a background loop as whatever the driver raised, raw
(``ConnectionRefusedError`` from asyncpg's connect, ``sqlite3.OperationalError`` from a
direct aiosqlite call) or wrapped by SQLAlchemy (``DBAPIError`` with the driver's error
as ``orig`` and as its cause). ``store_failure`` looks through that chain and answers a
``StoreUnavailable`` (retry later: 503) or a ``StorageFull`` (507), or None for anything
else, which stays a bug to log.
"""

from __future__ import annotations

import sqlite3
import sys
import traceback
from collections.abc import Iterator
from pathlib import PurePath

from sqlalchemy import exc as sa_exc

from onewatch.errors import StorageFull, StoreUnavailable

#: SQLite's primary result codes (``sqlite_errorcode & 0xff``) for "no space left" and
#: for "cannot get at the file now" (busy past ``busy_timeout``, locked, I/O, open).
SQLITE_FULL = 13
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 14, 15})  # BUSY LOCKED IOERR CANTOPEN PROTOCOL

#: PostgreSQL SQLSTATEs: disk full; and the server going away, starting, shutting down
#: or out of connections (class 08 is any connection exception).
_PG_DISK_FULL = "53100"
_PG_UNAVAILABLE = frozenset({"53300", "57P01", "57P02", "57P03", "58030"})

#: Modules whose OSError is the store's socket or file, not someone else's.
_DRIVER_MODULES = frozenset({"asyncpg", "aiosqlite", "sqlalchemy"})

_FULL_REASON = "the database has no space left for this write; nothing was changed"
_DOWN_REASON = "the database is unavailable; try again shortly"


def store_failure(error: BaseException) -> StoreUnavailable | None:
    """``StorageFull`` or ``StoreUnavailable`` when ``error`` is one, else None."""
    found: StoreUnavailable | None = None
    for link in _chain(error):
        kind = _classify(link)
        if kind is StorageFull:
            return StorageFull(_FULL_REASON, retry_after_seconds=60)
        if kind is StoreUnavailable:
            found = StoreUnavailable(_DOWN_REASON)
    return found


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, the driver error SQLAlchemy wrapped, and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        link = pending.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, link.__cause__]


def _classify(error: BaseException) -> type[StoreUnavailable] | None:
    if isinstance(error, StoreUnavailable):
        return type(error)
    if isinstance(error, sqlite3.Error):
        return _sqlite_kind(getattr(error, "sqlite_errorcode", 0) & 0xFF)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return StoreUnavailable
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return StoreUnavailable  # no pooled connection came free in time
    if _is_asyncpg_error(error):
        return _postgres_kind(error)
    if isinstance(error, OSError) and _raised_in_driver(error):
        return StoreUnavailable  # refused, reset, unreachable, timed out connecting
    return None


def _sqlite_kind(code: int) -> type[StoreUnavailable] | None:
    if code == SQLITE_FULL:
        return StorageFull
    return StoreUnavailable if code in _SQLITE_UNAVAILABLE else None


def _is_asyncpg_error(error: BaseException) -> bool:
    # asyncpg is imported only on PostgreSQL nodes; none of its errors exist otherwise.
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(
        error, asyncpg.PostgresError | asyncpg.exceptions.ConnectionDoesNotExistError
    )


def _postgres_kind(error: BaseException) -> type[StoreUnavailable] | None:
    state = str(getattr(error, "sqlstate", "") or "")
    if state == _PG_DISK_FULL:
        return StorageFull
    if state.startswith("08") or state in _PG_UNAVAILABLE or not state:
        return StoreUnavailable  # no SQLSTATE: the connection itself is gone
    return None


def _raised_in_driver(error: OSError) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return any(_DRIVER_MODULES & set(PurePath(frame.filename).parts) for frame in frames)
