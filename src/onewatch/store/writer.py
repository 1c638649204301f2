"""One writer at a time per SQLite file, queued in the event loop instead of in SQLite.

SQLite allows one writer; a second one waits in SQLite's busy handler, which sleeps in
growing steps (up to 100 ms) and blocks a pool thread meanwhile. Under a burst the
scheduler, the dispatcher's claims and the recorder would all collide there. Taking an
``asyncio.Lock`` first makes them queue fairly and wake the moment the writer is done.
PostgreSQL has row locks, so there the lock is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_locks: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


def _lock_for(engine: AsyncEngine) -> asyncio.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    lock = _locks.get(engine.sync_engine)
    if lock is None:
        lock = _locks[engine.sync_engine] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold this process's write turn on ``engine`` (SQLite only)."""
    lock = _lock_for(engine)
    if lock is None:
        yield
        return
    async with lock:
        yield


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` inside this process's write turn."""
    async with writing(engine), engine.begin() as connection:
        yield connection
