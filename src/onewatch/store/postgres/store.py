"""``PostgresStore``: the store many nodes share on one PostgreSQL database.

Its tricks: a connection pool with pre-ping; conditional batch updates as one statement
each that names the rows it changed (``store.postgres.statements``, since asyncpg counts
no executemany); due events and ready deliveries read ``FOR UPDATE SKIP LOCKED`` (in the
shared queries; SQLite's compiler leaves it out), so two schedulers or dispatchers split
a burst instead of queueing on each other's rows; the node's wake-ups over LISTEN/NOTIFY
(``store.postgres.wakeup``), so a change made through any node's API wakes every
scheduler; an advisory lock around migrations.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.ports import WakeUp
from onewatch.store import audit, firing
from onewatch.store.base import SqlStore, transaction_on
from onewatch.store.events import insert_new_events_statement
from onewatch.store.many import ManyRows
from onewatch.store.postgres import statements
from onewatch.store.postgres.wakeup import (
    DELIVERIES_CHANNEL,
    EVENTS_CHANNEL,
    PgWakeUpHub,
)
from onewatch.store.records import Advance, Outcome, StoredRow
from onewatch.store.schema import deliveries as deliveries_table

_INSERT_NEW_EVENTS = insert_new_events_statement(postgresql.insert)


def _jsonb_document(name: str) -> ColumnElement[Any]:
    """An audit document bound as the JSON text ``store.audit`` made of it, cast to JSONB
    by the server (not serialized again by the driver)."""
    return cast(audit.text_document(name), postgresql.JSONB)


_INSERT_AUDIT = audit.insert_audit_statement(_jsonb_document)


async def _begin(connection: AsyncConnection) -> None:
    await connection.begin()


class PostgresStore(SqlStore):
    """``ports.Store`` on PostgreSQL (see the module docstring for its tricks)."""

    insert_deliveries = ManyRows(
        postgresql.insert(deliveries_table).on_conflict_do_nothing(), firing.DELIVERY_COLUMNS
    )

    def __init__(self, engine: AsyncEngine, wakeup_hub: PgWakeUpHub) -> None:
        super().__init__(engine)
        #: The LISTEN connection carrying both wake-ups across nodes.
        self.wakeup_hub = wakeup_hub

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection, transaction_on(connection, _begin):
            yield connection

    async def execute_many(
        self, connection: AsyncConnection, many: ManyRows, rows: Sequence[Mapping[str, Any]]
    ) -> int:
        return await many.execute(connection, rows)

    async def insert_event_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[StoredRow]:
        return (await connection.execute(_INSERT_NEW_EVENTS, list(rows))).mappings().all()

    async def insert_audit_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        await connection.execute(_INSERT_AUDIT, list(rows))

    async def _advance(
        self, connection: AsyncConnection, advances: list[Advance], now: datetime
    ) -> list[Advance]:
        columns = {
            "ids": [a.event.id for a in advances],
            "versions": [a.event.version for a in advances],
            "next_occurrences": [a.next_occurrence for a in advances],
            "occurrences": [a.occurrences for a in advances],
            "statuses": [a.status for a in advances],
        }
        result = await connection.execute(statements.ADVANCE_EVENTS, {**columns, "now": now})
        changed = set(result.scalars().all())
        return [advance for advance in advances if advance.event.id in changed]

    async def record_outcomes(self, outcomes: Sequence[Outcome], *, now: datetime) -> list[Outcome]:
        if not outcomes:
            return []
        columns = {
            "ids": [o.delivery_id for o in outcomes],
            "tokens": [o.lease_token for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "attempts": [o.attempt for o in outcomes],
            "next_attempts": [o.next_attempt_at for o in outcomes],
            "status_codes": [o.status_code for o in outcomes],
            "errors": [o.error for o in outcomes],
            "finished": [o.finished_at for o in outcomes],
        }
        async with self._writing() as connection:
            result = await connection.execute(statements.RECORD_OUTCOMES, {**columns, "now": now})
            changed = set(result.scalars().all())
            kept = [outcome for outcome in outcomes if outcome.delivery_id in changed]
            await self._insert_attempts(connection, kept, now)
        return kept

    def _take_turn(self, connection: Connection) -> None:
        connection.execute(statements.MIGRATION_LOCK, {"key": statements.MIGRATION_LOCK_KEY})

    def wakeups(self) -> tuple[WakeUp, WakeUp]:
        hub = self.wakeup_hub
        return hub.channel(EVENTS_CHANNEL), hub.channel(DELIVERIES_CHANNEL)

    async def start(self) -> None:
        await self.wakeup_hub.start()

    async def dispose(self) -> None:
        await self.wakeup_hub.close()
        await super().dispose()

    async def head_room_bytes(self) -> int | None:
        """None: the server watches its own disk (a full one answers ``StorageFull``)."""
        return None
