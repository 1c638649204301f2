"""``SqliteStore``: the single node's store on one SQLite file.

Its tricks, each for a reason measured on this database:

- One writer at a time, queued in the event loop (an ``asyncio.Lock``) instead of in
  SQLite: a second writer would wait in SQLite's busy handler, which sleeps in growing
  steps (up to 100 ms) and blocks a pool thread meanwhile. Under a burst the scheduler,
  the dispatcher's claims and the recorder would all collide there; the lock makes them
  queue fairly and wake the moment the writer is done.
- ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails at once
  with "database is locked" when another writer (another process on the file) committed
  in between; taking the write lock first waits for it (``busy_timeout``) instead.
- One trip to aiosqlite's thread per statement where SQLAlchemy's cursor wrapper makes
  three or four (``store.sqlite.one_trip``, ``execute_many``), since each trip comes
  back through a busy event loop.
- Batch updates checked by row count: sqlite3 counts the rows an executemany changed,
  so a batch that lost a race is rolled back and redone row by row.
- WAL mode, a PASSIVE checkpoint beside the writers, and the disk's head room as part
  of readiness.
- The queue relay's call to the queue runs outside the write turn (``publish_ready``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.ports import WakeUp
from onewatch.store import audit, deliveries, firing, publication
from onewatch.store.base import SqlStore, transaction_on
from onewatch.store.events import insert_new_events_statement
from onewatch.store.many import ManyRows
from onewatch.store.records import Advance, Outcome, StoredRow
from onewatch.store.schema import deliveries as deliveries_table
from onewatch.store.sqlite.driver import sqlite_driver
from onewatch.store.sqlite.engine import (
    checkpoint_sqlite_wal,
    sqlite_head_room_bytes,
    sqlite_wal_file,
)
from onewatch.store.sqlite.one_trip import OneTripInsert
from onewatch.wakeup import LocalWakeUp

_INSERT_NEW_EVENTS = OneTripInsert(insert_new_events_statement(sqlite.insert))
#: Audit documents go in as the JSON text ``store.audit`` made of them.
_INSERT_AUDIT = OneTripInsert(audit.insert_audit_statement(audit.text_document))


async def _begin_immediate(connection: AsyncConnection) -> None:
    """``BEGIN IMMEDIATE`` in one trip to aiosqlite's thread.

    SQLAlchemy's own ``begin()`` sends nothing to SQLite, so its commit and rollback end
    the transaction begun here.
    """
    await connection.begin()
    driver = await sqlite_driver(connection)
    # execute_fetchall: its cursor lives and dies in aiosqlite's thread (no close trip).
    await driver.execute_fetchall("BEGIN IMMEDIATE")


class SqliteStore(SqlStore):
    """``ports.Store`` on one SQLite file (see the module docstring for its tricks)."""

    insert_deliveries = ManyRows(
        sqlite.insert(deliveries_table).on_conflict_do_nothing(), firing.DELIVERY_COLUMNS
    )
    checkpoints = True

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        #: This process's write turn on the file.
        self._write_lock = asyncio.Lock()
        self._wakeups: tuple[WakeUp, WakeUp] = (LocalWakeUp(), LocalWakeUp())
        #: The WAL file's (size, mtime) at the last checkpoint.
        self._checkpointed: tuple[int, int] | None = None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with (
            self._write_lock,
            self.engine.connect() as connection,
            transaction_on(connection, _begin_immediate),
        ):
            yield connection

    async def _restart(self, connection: AsyncConnection) -> None:
        """Roll back and begin again, still in the write turn."""
        await connection.rollback()
        await _begin_immediate(connection)

    async def execute_many(
        self, connection: AsyncConnection, many: ManyRows, rows: Sequence[Mapping[str, Any]]
    ) -> int:
        # One trip to aiosqlite's thread; SQLAlchemy's cursor wrapper takes three (open,
        # executemany, close), each back through a busy event loop.
        sql, values = many.parameters(connection.dialect, rows)
        driver = await sqlite_driver(connection)
        return int((await driver.executemany(sql, values)).rowcount)

    async def insert_event_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[StoredRow]:
        return await _INSERT_NEW_EVENTS.execute(connection, rows)

    async def insert_audit_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        await _INSERT_AUDIT.execute(connection, rows)

    async def _advance(
        self, connection: AsyncConnection, advances: list[Advance], now: datetime
    ) -> list[Advance]:
        params = [firing.advance_params(advance, now) for advance in advances]
        if await self.execute_many(connection, firing.ADVANCE, params) == len(advances):
            return advances
        # The slow path after a batch lost a race: keep only the events still unchanged.
        await self._restart(connection)
        kept = []
        for advance in advances:
            one = [firing.advance_params(advance, now)]
            if await self.execute_many(connection, firing.ADVANCE, one) == 1:
                kept.append(advance)
        return kept

    async def record_outcomes(self, outcomes: Sequence[Outcome], *, now: datetime) -> list[Outcome]:
        if not outcomes:
            return []
        async with self._writing() as connection:
            params = [deliveries.record_params(outcome, now) for outcome in outcomes]
            if await self.execute_many(connection, deliveries.RECORD, params) == len(outcomes):
                await self._insert_attempts(connection, outcomes, now)
                return list(outcomes)
            await self._restart(connection)
            return await self._record_one_by_one(connection, outcomes, now)

    def _take_turn(self, connection: Connection) -> None:
        """One node per file: nothing to coordinate."""

    async def publish_ready(
        self,
        now: datetime,
        *,
        republish_after: timedelta,
        limit: int,
        append: Callable[[list[str]], Awaitable[Collection[str] | None]],
    ) -> int:
        """Read the ids, hand them to the queue, then stamp those it took.

        PostgreSQL keeps the rows locked across the queue call so that several relays
        never publish the same row; a SQLite file has one node and so one relay, and
        holding its only write turn across a call to SQS (up to its timeouts) would hold
        every API write, claim and record behind it. A crash between the call and the
        stamp publishes those ids again: harmless, as every claim is conditional.
        """
        async with self.engine.connect() as connection:
            ids = await publication.lock_needing_publication(
                connection, now, republish_after=republish_after, limit=limit
            )
        if not ids:
            return 0
        taken = await append(ids)
        stamped = ids if taken is None else [ident for ident in ids if ident in taken]
        if stamped:
            async with self._writing() as connection:
                await publication.mark_published(connection, stamped, now)
        return len(ids)

    def wakeups(self) -> tuple[WakeUp, WakeUp]:
        return self._wakeups

    async def head_room_bytes(self) -> int | None:
        async with self.engine.connect() as connection:
            return await sqlite_head_room_bytes(connection)

    async def checkpoint(self) -> int:
        """The PASSIVE checkpoint, only when the WAL file changed since the last one.

        A checkpoint that finds nothing to copy still costs a connection and a
        statement; an idle node ran one a second, a third of its idle CPU. Any commit
        writes frames to the WAL, which changes its size or modification time, so a
        ``stat`` tells whether there can be anything to copy.
        """
        before = _stamp(sqlite_wal_file(self.engine))
        if before is not None and before == self._checkpointed:
            return 0
        await checkpoint_sqlite_wal(self.engine)
        # Stamped before the checkpoint: a commit racing with it changes the stamp, so
        # the next round checkpoints again rather than missing it.
        self._checkpointed = before
        return 1


def _stamp(wal: Path | None) -> tuple[int, int] | None:
    if wal is None:
        return None
    try:
        info = wal.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns
