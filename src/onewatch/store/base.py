"""What both stores share: SQLAlchemy Core on an async engine, dialect-neutral queries.

``SqlStore`` implements ``ports.Store`` with the query modules (``store.events``,
``store.deliveries``, ``store.firing``, ``store.nodes``, ...), each a function taking a
connection. What differs by database is left to the subclass, one per dialect:

- ``_writing``: how a write transaction begins (SQLite: this process's write turn, then
  ``BEGIN IMMEDIATE``; PostgreSQL: a plain ``BEGIN``);
- ``execute_many``, ``insert_event_rows`` and ``insert_audit_rows``: how a statement for
  many rows is sent;
- ``_advance`` and ``record_outcomes``: the batch updates checked row by row;
- ``_take_turn`` for migrations, the wake-ups, the head room and the checkpoint.

No other module branches on the dialect.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.errors import StoreUnavailable
from onewatch.ports import BatchApply, StoreTransaction, WakeUp
from onewatch.security.secrets_crypto import Keyring
from onewatch.store import deliveries, firing, nodes, publication, signing_secrets, ui_links
from onewatch.store.constraints import is_unique_violation
from onewatch.store.failures import store_failure
from onewatch.store.group_commit import GroupCommit
from onewatch.store.many import ManyRows
from onewatch.store.migrate import is_current, upgrade_to_head
from onewatch.store.overlap import (
    finished_ids,
    overlap_policies,
    release_buffered,
    settle_overlaps,
    stored_only,
)
from onewatch.store.records import (
    Advance,
    ClaimedDelivery,
    DeliveryFilter,
    DeliveryView,
    DueEvent,
    FireBatch,
    HeldOccurrence,
    NodeInfo,
    Outcome,
    StoredRow,
)
from onewatch.store.transaction import SqlTransaction

Job = TypeVar("Job")
Result = TypeVar("Result")


class SqlStore(ABC):
    """``ports.Store`` over SQLAlchemy Core; a subclass per database owns its tricks."""

    #: ``INSERT INTO deliveries ... ON CONFLICT DO NOTHING`` for many rows, in the
    #: dialect's own construct: a duplicate (event, kind, scheduled_for) is a no-op.
    insert_deliveries: ClassVar[ManyRows]
    #: Whether ``checkpoint`` does anything.
    checkpoints: bool = False

    def __init__(self, engine: AsyncEngine) -> None:
        #: The pooled engine: the store's modules and tests that inspect rows use it.
        self.engine = engine
        self._group_commits: dict[Any, GroupCommit[Any, Any]] = {}

    # --- what each dialect provides -------------------------------------------------
    @abstractmethod
    def _writing(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection in a write transaction: committed when the block ends normally
        (whatever transaction is open on it then), rolled back when it raises."""

    @abstractmethod
    async def execute_many(
        self, connection: AsyncConnection, many: ManyRows, rows: Sequence[Mapping[str, Any]]
    ) -> int:
        """Run ``many`` once per row in one driver call; the rows changed in all (-1
        where the driver does not count a batch)."""

    @abstractmethod
    async def insert_event_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[StoredRow]:
        """Insert events in one statement, skipping existing (service, key)s; the rows
        stored."""

    @abstractmethod
    async def insert_audit_rows(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert audit entries (``store.audit.audit_rows``) in one statement."""

    @abstractmethod
    async def _advance(
        self, connection: AsyncConnection, advances: list[Advance], now: datetime
    ) -> list[Advance]:
        """Advance each event only from the version read; those that did advance."""

    @abstractmethod
    async def record_outcomes(self, outcomes: Sequence[Outcome], *, now: datetime) -> list[Outcome]:
        """See ``ports.Store.record_outcomes``."""

    @abstractmethod
    def _take_turn(self, connection: Connection) -> None:
        """Run first in the migrating transaction, so nodes migrate one at a time."""

    @abstractmethod
    def wakeups(self) -> tuple[WakeUp, WakeUp]:
        """See ``ports.Store.wakeups``."""

    @abstractmethod
    async def head_room_bytes(self) -> int | None:
        """See ``ports.Store.head_room_bytes``."""

    async def checkpoint(self) -> int:
        """Nothing to fold back by default (see ``ports.Store.checkpoint``)."""
        return 0

    async def start(self) -> None:
        """Nothing to start by default (see ``ports.Store.start``)."""
        return None

    async def dispose(self) -> None:
        await self.engine.dispose()

    # --- lifecycle ------------------------------------------------------------------
    async def migrate(self) -> None:
        await upgrade_to_head(self.engine, self._take_turn)

    async def is_current(self) -> bool:
        return await is_current(self.engine)

    async def answers(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def failure(self, error: BaseException) -> StoreUnavailable | None:
        return store_failure(error)

    # --- transactions ---------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[StoreTransaction]:
        async with self.engine.connect() as connection:
            yield SqlTransaction(self, connection)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[StoreTransaction]:
        async with self._writing() as connection:
            yield SqlTransaction(self, connection)

    def group_commit(self, apply: BatchApply[Job, Result]) -> GroupCommit[Job, Result]:
        batcher = self._group_commits.get(apply)
        if batcher is None:
            batcher = self._group_commits[apply] = GroupCommit(apply, self.write)
        return cast(GroupCommit[Job, Result], batcher)

    # --- the scheduler --------------------------------------------------------------
    async def earliest_due(self) -> datetime | None:
        async with self.engine.connect() as connection:
            return await firing.earliest_due(connection)

    async def fire_due_events(
        self,
        *,
        now: datetime,
        horizon: datetime,
        limit: int,
        plan: Callable[[DueEvent], Advance],
    ) -> FireBatch:
        async with self._writing() as connection:
            due = await firing.due_events(connection, horizon, limit)
            if not due:
                return FireBatch(0, 0, full=False)
            kept = await self._advance(connection, [plan(event) for event in due], now)
            rows = firing.delivery_rows(kept, now)
            held: list[HeldOccurrence] = []
            if rows:
                # After the events were claimed and advanced, in this transaction: see
                # store.overlap for why no other node can decide the same occurrence.
                held = await settle_overlaps(connection, overlap_policies(kept), rows, now)
                await self.execute_many(connection, self.insert_deliveries, rows)
                held = await stored_only(connection, held)
        # Returned only once committed: a rolled-back firing reports nothing held.
        return FireBatch(len(kept), len(rows), full=len(due) == limit, held=held)

    # --- the dispatcher -------------------------------------------------------------
    async def claim_ready(
        self,
        *,
        now: datetime,
        horizon: datetime,
        limit: int,
        lease_seconds: float,
        skip_services: Collection[str] = (),
        holder: str | None = None,
    ) -> list[ClaimedDelivery]:
        async with self._writing() as connection:
            return await deliveries.claim_ready(
                connection,
                now=now,
                horizon=horizon,
                limit=limit,
                lease_seconds=lease_seconds,
                skip_services=skip_services,
                holder=holder,
            )

    async def claim_by_ids(
        self,
        ids: Sequence[str],
        *,
        now: datetime,
        lease_seconds: float,
        horizon: datetime | None = None,
        holder: str | None = None,
    ) -> list[ClaimedDelivery]:
        if not ids:
            return []
        async with self._writing() as connection:
            return await deliveries.claim_by_ids(
                connection,
                ids,
                now=now,
                lease_seconds=lease_seconds,
                horizon=horizon,
                holder=holder,
            )

    async def earliest_ready(self, *, skip_services: Collection[str] = ()) -> datetime | None:
        async with self.engine.connect() as connection:
            return await deliveries.earliest_ready(connection, skip_services=skip_services)

    async def _record_one_by_one(
        self, connection: AsyncConnection, outcomes: Sequence[Outcome], now: datetime
    ) -> list[Outcome]:
        """Each outcome by its own conditional update, kept only where it matched."""
        kept = []
        for outcome in outcomes:
            params = [deliveries.record_params(outcome, now)]
            if await self.execute_many(connection, deliveries.RECORD, params) == 1:
                kept.append(outcome)
        await self._insert_attempts(connection, kept, now)
        return kept

    async def _insert_attempts(
        self, connection: AsyncConnection, kept: Sequence[Outcome], now: datetime
    ) -> None:
        """The attempt rows of the recorded outcomes; a delivery buffered behind one that
        just finished is released in the same transaction (``store.overlap``)."""
        if kept:
            rows = [deliveries.attempt_row(outcome) for outcome in kept]
            await self.execute_many(connection, deliveries.INSERT_ATTEMPTS, rows)
            await release_buffered(connection, finished_ids(kept), now)

    async def release(self, held: Sequence[tuple[str, str]], *, now: datetime) -> int:
        if not held:
            return 0
        async with self._writing() as connection:
            return await deliveries.release(connection, held, now=now)

    async def extend_leases(
        self, held: Mapping[str, str], *, now: datetime, lease_seconds: float
    ) -> set[str]:
        if not held:
            return set()
        async with self._writing() as connection:
            return await deliveries.extend_leases(
                connection, held, now=now, lease_seconds=lease_seconds
            )

    async def reclaim_expired(
        self,
        *,
        now: datetime,
        limit: int = 500,
        dead_after: timedelta | None = None,
        me: str | None = None,
    ) -> int:
        outcomes = await self.lapsed_leases(now=now, limit=limit, dead_after=dead_after, me=me)
        if not outcomes:
            return 0
        return await self.take_over(outcomes, now=now, dead_after=dead_after, me=me)

    async def lapsed_leases(
        self, *, now: datetime, limit: int, dead_after: timedelta | None, me: str | None
    ) -> list[Outcome]:
        """``reclaim_expired``'s read: the abandoned attempts it would record."""
        async with self.engine.connect() as connection:
            return await deliveries.lapsed_leases(
                connection, now=now, limit=limit, dead_after=dead_after, me=me
            )

    async def take_over(
        self,
        outcomes: Sequence[Outcome],
        *,
        now: datetime,
        dead_after: timedelta | None,
        me: str | None,
    ) -> int:
        """``reclaim_expired``'s write: each abandoned attempt (from ``lapsed_leases``)
        only where the lease is still lapsed by the same rule, checked again as it is
        written (the holder may have beaten since the read); returns how many."""
        many = deliveries.TAKE_OVER_EXPIRED if dead_after is None else deliveries.TAKE_OVER
        kept = []
        async with self._writing() as connection:
            for outcome in outcomes:
                params = [deliveries.take_over_params(outcome, now, dead_after, me)]
                if await self.execute_many(connection, many, params) == 1:
                    kept.append(outcome)
            await self._insert_attempts(connection, kept, now)
        return len(kept)

    async def prune_finished(self, *, older_than: datetime, limit: int = 1000) -> int:
        async with self._writing() as connection:
            return await deliveries.prune_finished(connection, older_than=older_than, limit=limit)

    # --- deliveries for the API -----------------------------------------------------
    async def list_deliveries(self, where: DeliveryFilter) -> list[DeliveryView]:
        async with self.engine.connect() as connection:
            return await deliveries.list_deliveries(connection, where)

    async def get_delivery(self, delivery_id: str) -> DeliveryView | None:
        async with self.engine.connect() as connection:
            return await deliveries.get_delivery(connection, delivery_id)

    async def find_event_id(self, service: str, key: str) -> int | None:
        async with self.engine.connect() as connection:
            return await deliveries.find_event_id(connection, service, key)

    async def redrive(self, delivery_id: str, *, now: datetime) -> bool:
        async with self._writing() as connection:
            return await deliveries.redrive(connection, delivery_id, now=now)

    async def count_by_status(self) -> dict[str, int]:
        async with self.engine.connect() as connection:
            return await deliveries.count_by_status(connection)

    async def oldest_pending_due(self, *, now: datetime) -> datetime | None:
        async with self.engine.connect() as connection:
            return await deliveries.oldest_pending_due(connection, now=now)

    # --- nodes ----------------------------------------------------------------------
    async def register_node(self, node: NodeInfo) -> None:
        async with self._writing() as connection:
            await nodes.register_node(connection, node)

    async def beat(self, node_id: str, now: datetime) -> bool:
        async with self._writing() as connection:
            return await nodes.beat(connection, node_id, now)

    async def mark_stopped(self, node_id: str, now: datetime) -> bool:
        async with self._writing() as connection:
            return await nodes.mark_stopped(connection, node_id, now)

    async def prune_nodes(self, now: datetime, older_than: timedelta) -> int:
        async with self._writing() as connection:
            return await nodes.prune_nodes(connection, now, older_than)

    async def list_nodes(self) -> list[NodeInfo]:
        async with self.engine.connect() as connection:
            return await nodes.list_nodes(connection)

    # --- queue mode's relay ---------------------------------------------------------
    async def publish_ready(
        self,
        now: datetime,
        *,
        republish_after: timedelta,
        limit: int,
        append: Callable[[list[str]], Awaitable[Collection[str] | None]],
    ) -> int:
        async with self._writing() as connection:
            ids = await publication.lock_needing_publication(
                connection, now, republish_after=republish_after, limit=limit
            )
            if ids:
                taken = await append(ids)
                stamped = ids if taken is None else [ident for ident in ids if ident in taken]
                if stamped:
                    await publication.mark_published(connection, stamped, now)
        return len(ids)

    async def next_ready_attempt_after(self, now: datetime) -> datetime | None:
        async with self.engine.connect() as connection:
            return await publication.next_ready_attempt_after(connection, now)

    async def unpublish(self, ids: Sequence[str]) -> int:
        async with self._writing() as connection:
            return await publication.unpublish(connection, ids)

    # --- small single-purpose writes ------------------------------------------------
    async def read_or_create_active_secrets(
        self, keyring: Keyring, service: str, now: datetime
    ) -> list[str]:
        async with self.engine.connect() as connection:
            found = await signing_secrets.read_active_secrets(connection, keyring, service, now)
        if found:
            return found
        async with self._writing() as connection:
            return await signing_secrets.active_secrets(connection, service, now, keyring=keyring)

    async def consume_link(self, jti: str, *, expires_at: datetime, now: datetime) -> bool:
        try:
            async with self._writing() as connection:
                await ui_links.record_link_use(connection, jti, expires_at=expires_at, now=now)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return False
        return True


@contextlib.asynccontextmanager
async def transaction_on(
    connection: AsyncConnection, begin: Callable[[AsyncConnection], Awaitable[None]]
) -> AsyncIterator[AsyncConnection]:
    """``connection`` in a transaction begun by ``begin``: committed at the end (the
    transaction then open: a dialect may restart it midway), rolled back on error."""
    await begin(connection)
    try:
        yield connection
    except BaseException:
        if connection.in_transaction():
            await connection.rollback()
        raise
    if connection.in_transaction():
        await connection.commit()
