"""The contracts between Onewatch's parts, with the duties each implementation owes.

Backends (SQLite, PostgreSQL; the deliveries table or Redis Streams) live behind these,
so the scheduler, dispatcher and API never know which one they talk to. ``Store`` is
the one face of persistence: ``store.sqlite.SqliteStore`` and
``store.postgres.PostgresStore`` implement it, and ``tests/store/test_contract.py`` holds
both to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import RowMapping

if TYPE_CHECKING:
    from onewatch.errors import StoreUnavailable
    from onewatch.security.secrets_crypto import Keyring
    from onewatch.store.records import (
        Advance,
        AuditEntry,
        AuditFilter,
        ClaimedDelivery,
        DeliveryFilter,
        DeliveryView,
        DueEvent,
        EventFilter,
        Failing,
        FireBatch,
        NodeInfo,
        Outcome,
        SigningSecretRecord,
        StoredRow,
    )

Job = TypeVar("Job")
Result = TypeVar("Result")
JobIn = TypeVar("JobIn", contravariant=True)
ResultOut = TypeVar("ResultOut", covariant=True)

#: Below this much room to grow (``Store.head_room_bytes``) a store is "not ready": the
#: next writes (WAL frames, a checkpoint, a new index page) are about to fail as full.
MIN_HEAD_ROOM_BYTES = 1024 * 1024


class WakeUp(Protocol):
    """Tells the scheduler that events changed, so it re-reads the earliest due time.

    ``notify`` must be cheap and never block the caller (the API calls it after every
    committed event change); ``wait`` returns when notified or when ``seconds`` pass,
    and returns whether it was notified. Across nodes (PostgreSQL) this is carried by
    LISTEN/NOTIFY; in one process by an ``asyncio.Event``.

    ``notify(due)`` says the change made something due at ``due`` (None: anything may
    have changed). ``wait(seconds, earliest)`` says the waiter already knows of something
    due at ``earliest`` and sleeps for it; an implementation may then skip waking it for
    a ``due`` no earlier, made during the wait or before it: that cannot bring its alarm
    forward, and it reads the store again when it wakes (an in-process one does, so a
    stream of creates due later does not rerun the scheduler per create).
    """

    def notify(self, due: datetime | None = None) -> None: ...

    async def wait(self, seconds: float, earliest: datetime | None = None) -> bool: ...


class DeliverySource(Protocol):
    """Where a dispatcher finds candidate deliveries: the table, a Redis stream, SQS.

    ``next_batch`` returns up to ``limit`` delivery ids that may be ready (it may wait a
    short, bounded while for some; an empty list is fine). They are *candidates* only:
    the dispatcher still claims each one in the store with a conditional update and a
    lease, and skips those it cannot claim (done already, claimed by another node,
    duplicates). ``done`` is called for every id ``next_batch`` returned, once its
    result is recorded in the store or once the claim was refused; before that an
    implementation must keep the id recoverable (a stream entry stays pending, and is
    reclaimed if this node dies; an SQS message stays hidden, and shows again). Neither
    raises for a queue outage: the store is the truth, and a lost candidate is found
    again.
    """

    async def next_batch(self, limit: int) -> list[str]: ...

    async def done(self, ids: list[str]) -> None: ...


class StoreTransaction(Protocol):
    """One open transaction: every change made through it commits together or not at all.

    Got from ``Store.write()`` (committed when the block ends normally, rolled back when
    it raises) or ``Store.read()`` (reads only; on PostgreSQL each statement sees its own
    snapshot, so a multi-read page is not one snapshot). Multi-step application logic
    (read, check, then change) runs inside one ``write()`` so no other writer slips in
    between: the store serialises or conditions writers as its database needs.

    Every change of an existing row is conditional and answers whether it matched:
    ``update_event`` only at the expected ``version`` (bumping it), ``update_action``
    only at the expected ``updated_at``; a False means the row moved on (the caller
    reports a conflict or retries). Unique keys hold in the database: a duplicate
    (service, key) is ``errors.Conflict`` for a single insert and absent from the
    answer of a batch insert.
    """

    # --- events ---------------------------------------------------------------------
    async def get_event(self, service: str, key: str) -> RowMapping | None: ...

    async def get_events_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]: ...

    async def list_events(
        self, where: EventFilter, *, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        """A page in id order after ``after_id`` (keyset pagination)."""
        ...

    async def count_live_events(self, service: str) -> int:
        """Events that may still fire (what the event quota counts)."""
        ...

    async def insert_event(self, values: Mapping[str, Any]) -> int:
        """The new event's id; ``Conflict`` when (service, key) exists already."""
        ...

    async def insert_new_events(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[str, str], StoredRow]:
        """Insert many events in one statement; the stored rows by (service, key). A
        (service, key) that exists already is skipped, absent from the answer."""
        ...

    async def update_event(
        self, event_id: int, expected_version: int, values: Mapping[str, Any]
    ) -> bool:
        """Change the event only if still at ``expected_version`` (bumping it)."""
        ...

    async def delete_event(self, event_id: int) -> bool: ...

    async def insert_manual_delivery(self, event: RowMapping, now: datetime) -> str:
        """A "run now" delivery due at once; ``Conflict`` for a second at one instant
        (unique (event, kind, scheduled_for))."""
        ...

    async def insert_occurrences(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """A backfill's delivery rows, each skipped where its (event, kind, scheduled_for)
        exists already; how many were new."""
        ...

    # --- calendars ------------------------------------------------------------------
    # An event keeps a copy of its calendar's rules. A writer of such an event reads the
    # calendar with ``share=True`` and a changer of a calendar takes ``lock_calendar``
    # then ``events_using_calendar`` (locked): on PostgreSQL the two serialise, so no
    # event is left with rules older than the committed calendar.
    async def insert_calendar(self, values: Mapping[str, Any]) -> int:
        """Insert one calendar; ``Conflict`` when (service, key) exists already."""

    async def get_calendar(
        self, service: str, key: str, *, share: bool = False
    ) -> RowMapping | None: ...

    async def lock_calendar(self, service: str, key: str) -> RowMapping | None: ...

    async def get_calendars_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]:
        """The calendars among the (service, key) pairs, share-locked."""

    async def list_calendars(
        self, *, service: str | None, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]: ...

    async def update_calendar(
        self, calendar_id: int, expected_version: int, values: Mapping[str, Any]
    ) -> bool:
        """Change a calendar still at ``expected_version``, bumping it."""

    async def delete_calendar(self, calendar_id: int) -> bool: ...

    async def keys_of_events_using_calendar(
        self, service: str, key: str, *, limit: int
    ) -> tuple[int, list[str]]:
        """How many events follow the calendar, and the first ``limit`` keys."""

    async def events_using_calendar(self, service: str, key: str) -> Sequence[RowMapping]:
        """Every event that follows the calendar, locked for a change."""

    # --- actions --------------------------------------------------------------------
    async def insert_action(self, values: Mapping[str, Any]) -> int: ...

    async def get_action(self, service: str, key: str) -> RowMapping | None: ...

    async def get_actions_by_identity(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RowMapping]: ...

    async def list_actions(
        self, *, service: str | None, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]: ...

    async def update_action(
        self, action_id: int, expected_updated_at: datetime, values: Mapping[str, Any]
    ) -> bool:
        """Change the action only if still at ``expected_updated_at``."""
        ...

    async def delete_action(self, action_id: int) -> bool: ...

    async def count_events_using(self, service: str, key: str) -> int: ...

    async def url_params_of_events_using(
        self, service: str, key: str
    ) -> Sequence[tuple[str, Any]]: ...

    # --- dashboard summaries (reads) --------------------------------------------------
    async def events_by_status(self, service: str | None) -> dict[str, int]: ...

    async def deliveries_by_status(self, service: str | None) -> dict[str, int]: ...

    async def fires_between(self, service: str | None, start: datetime, end: datetime) -> int: ...

    async def failed_attempts_since(self, service: str | None, start: datetime) -> int: ...

    async def first_attempt_lateness(self, service: str | None, start: datetime) -> list[float]: ...

    async def active_schedules_due_by(
        self, service: str | None, end: datetime
    ) -> Sequence[RowMapping]: ...

    async def last_results(self, event_ids: Sequence[int]) -> dict[int, RowMapping]:
        """Each event's last result (its newest delivery that had an attempt: id, status,
        last_status_code, updated_at) by event id; absent when it had no attempt yet. One
        index seek per event asked for."""
        ...

    async def failing_event_ids(self, service: str | None) -> Failing:
        """Events (of ``service``, or all) whose last result is retrying or dead, from a
        bounded scan of the newest failures (``complete`` says whether it saw them all)."""
        ...

    async def list_events_among(
        self, event_ids: Sequence[int], where: EventFilter, *, after_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        """A page (id order, after ``after_id``) of the events among ``event_ids`` that
        pass ``where`` as ``list_events`` filters (the "failing" listing)."""
        ...

    # --- deliveries -------------------------------------------------------------------
    async def redrive(self, delivery_id: str, *, now: datetime) -> bool:
        """``Store.redrive`` inside this transaction (so an audit entry commits with it):
        a conditional update of a dead delivery only; False unless it was dead."""
        ...

    # --- the audit log ----------------------------------------------------------------
    async def record_audits(self, entries: Sequence[AuditEntry]) -> None:
        """Write the entries in this transaction, in one statement: each commits with the
        change it describes or not at all. Documents are stored as given (already
        redacted by the caller; a ``JsonText`` as its text, not serialized again)."""
        ...

    async def list_audit(
        self, where: AuditFilter, *, before_id: int | None, limit: int
    ) -> Sequence[RowMapping]:
        """A page of entries newest first, older than ``before_id`` (keyset pagination,
        by an index that gives the order: a page reads ``limit`` rows)."""
        ...

    async def prune_audit(self, *, older_than: datetime, limit: int) -> int:
        """Of the ``limit`` oldest entries (by id), delete those written before
        ``older_than``; how many went (fewer than ``limit``: the old ones are gone)."""
        ...

    # --- signing secrets --------------------------------------------------------------
    async def create_secret(
        self, keyring: Keyring, service: str, now: datetime
    ) -> tuple[SigningSecretRecord, str]: ...

    async def rotate_secrets(
        self, keyring: Keyring, service: str, now: datetime, overlap: timedelta
    ) -> tuple[SigningSecretRecord, str, datetime]: ...

    async def revoke_secret(self, service: str, secret_id: int, now: datetime) -> None: ...

    async def list_secrets(self, service: str) -> list[SigningSecretRecord]: ...

    async def active_secrets(self, service: str, now: datetime, *, keyring: Keyring) -> list[str]:
        """The signing plaintexts, creating the first secret when there is none (so run it
        in ``write()``)."""
        ...

    async def reseal_all(self, keyring: Keyring) -> int: ...


class GroupCommit(Protocol[JobIn, ResultOut]):
    """Concurrent ``submit`` calls share one write transaction (``Store.group_commit``).

    ``submit`` answers only after the shared transaction committed (an answer still
    means stored); one job's refusal is that job's answer alone, and a batch that fails
    as a whole is retried job by job so one bad job cannot fail its neighbours.
    """

    async def submit(self, job: JobIn) -> ResultOut: ...


#: Does a batch of jobs inside the open transaction: one result or refusal per job.
BatchApply = Callable[[StoreTransaction, Sequence[Job]], Awaitable[Sequence[Result | Exception]]]


class Store(Protocol):
    """Where Onewatch keeps everything; one implementation per database.

    Duties every implementation owes (``tests/store/test_contract.py`` checks them):

    - ``write()`` is the one way to open a write transaction. Writers that read and then
      write are never failed by a concurrent writer midway (SQLite: this process's
      writers queue in the event loop and take the file's write lock up front;
      PostgreSQL: row locks, conditions and row counts).
    - State changes are conditional updates whose row count is checked: a delivery is
      leased to one claimer at a time, an outcome is written only under the lease that
      sent it, an event advances only from the version that was read.
    - The database holds the invariants: unique (service, key) of events and actions,
      unique (event, kind, scheduled_for) of deliveries.
    - Methods that are one whole step of the engine (fire, claim, record, reclaim,
      prune, publish) own their transaction, batched as the database does best.
    """

    # --- lifecycle ------------------------------------------------------------------
    async def migrate(self) -> None:
        """Bring the schema to the newest revision; nodes starting at once take turns."""
        ...

    async def is_current(self) -> bool:
        """Whether the schema is at the newest revision (``/readyz``)."""
        ...

    async def answers(self) -> None:
        """Raise unless the database answers a trivial query."""
        ...

    async def head_room_bytes(self) -> int | None:
        """How far the store can still grow (None: its server watches its own disk)."""
        ...

    #: Whether ``checkpoint`` does anything (the maintenance role schedules it then).
    checkpoints: bool

    async def checkpoint(self) -> int:
        """Fold the write-ahead log back into the database when it changed since the
        last call (1 when it did, 0 when there was nothing to do)."""
        ...

    def wakeups(self) -> tuple[WakeUp, WakeUp]:
        """This node's two wake-up channels: (events changed, deliveries ready). In
        process on SQLite; across every node of the store on PostgreSQL."""
        ...

    async def start(self) -> None:
        """Start what the wake-ups need (a LISTEN connection); before the roles."""
        ...

    async def dispose(self) -> None:
        """Close the wake-ups and every pooled connection."""
        ...

    def failure(self, error: BaseException) -> StoreUnavailable | None:
        """``StorageFull`` or ``StoreUnavailable`` when ``error`` is the store down or
        full (retry later), None for anything else (a bug to log)."""
        ...

    # --- transactions ---------------------------------------------------------------
    def read(self) -> AbstractAsyncContextManager[StoreTransaction]:
        """A transaction for reads only."""
        ...

    def write(self) -> AbstractAsyncContextManager[StoreTransaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        ...

    def group_commit(self, apply: BatchApply[Job, Result]) -> GroupCommit[Job, Result]:
        """The store's one group commit for ``apply`` (the same object every call)."""
        ...

    # --- the scheduler --------------------------------------------------------------
    async def earliest_due(self) -> datetime | None:
        """The earliest ``next_occurrence`` of an active event (the scheduler's alarm)."""
        ...

    async def fire_due_events(
        self,
        *,
        now: datetime,
        horizon: datetime,
        limit: int,
        plan: Callable[[DueEvent], Advance],
    ) -> FireBatch:
        """Claim up to ``limit`` events due by ``horizon``, plan each, and in one
        transaction advance each (only from the version read) with the deliveries of
        exactly those that advanced; two schedulers split a burst, never double it."""
        ...

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
        """Lease up to ``limit`` ready deliveries due by ``horizon`` (none of
        ``skip_services``), each to this claimer alone, in due order."""
        ...

    async def claim_by_ids(
        self,
        ids: Sequence[str],
        *,
        now: datetime,
        lease_seconds: float,
        horizon: datetime | None = None,
        holder: str | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease those of ``ids`` still ready (and due by ``horizon``); the rest are
        done already or another claimer's."""
        ...

    async def earliest_ready(self, *, skip_services: Collection[str] = ()) -> datetime | None:
        """When the next ready delivery becomes due (the dispatcher's alarm)."""
        ...

    async def record_outcomes(self, outcomes: Sequence[Outcome], *, now: datetime) -> list[Outcome]:
        """Write a batch of results in one transaction, each only where the row is still
        running under the lease that sent it, with its attempt row; returns those kept."""
        ...

    async def release(self, held: Sequence[tuple[str, str]], *, now: datetime) -> int:
        """Give back unsent leased deliveries (id, lease token): ready again at once."""
        ...

    async def extend_leases(
        self, held: Mapping[str, str], *, now: datetime, lease_seconds: float
    ) -> set[str]:
        """Push out the leases still held under the given tokens; returns those ids."""
        ...

    async def reclaim_expired(
        self,
        *,
        now: datetime,
        limit: int = 500,
        dead_after: timedelta | None = None,
        me: str | None = None,
    ) -> int:
        """Make deliveries whose lease ran out, or whose holder stopped heartbeating for
        ``dead_after``, ready again with an abandoned attempt, each only under the token
        read and only if still lapsed when written (the holder did not beat or renew
        meanwhile); returns how many. Finding none takes no write turn."""
        ...

    async def prune_finished(self, *, older_than: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` finished deliveries (with their attempts) older than that."""
        ...

    # --- deliveries for the API -----------------------------------------------------
    async def list_deliveries(self, where: DeliveryFilter) -> list[DeliveryView]: ...

    async def get_delivery(self, delivery_id: str) -> DeliveryView | None: ...

    async def find_event_id(self, service: str, key: str) -> int | None: ...

    async def redrive(self, delivery_id: str, *, now: datetime) -> bool:
        """A dead delivery gets a fresh retry budget, due now; False unless it was dead."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def oldest_pending_due(self, *, now: datetime) -> datetime | None: ...

    # --- nodes ----------------------------------------------------------------------
    async def register_node(self, node: NodeInfo) -> None: ...

    async def beat(self, node_id: str, now: datetime) -> bool:
        """Refresh the heartbeat; False when the row is gone or marked stopped."""
        ...

    async def mark_stopped(self, node_id: str, now: datetime) -> bool: ...

    async def prune_nodes(self, now: datetime, older_than: timedelta) -> int: ...

    async def list_nodes(self) -> list[NodeInfo]: ...

    # --- queue mode's relay ---------------------------------------------------------
    async def publish_ready(
        self,
        now: datetime,
        *,
        republish_after: timedelta,
        limit: int,
        append: Callable[[list[str]], Awaitable[Collection[str] | None]],
    ) -> int:
        """Take up to ``limit`` deliveries needing publication, ``append`` them to the
        queue, and stamp them published: if ``append`` raises nothing is stamped; if it
        returns the ids the queue took, only those (the rest wait for the next pass).
        Where several relays share a store, the rows stay locked from the read to the
        stamp, so no two relays publish the same row; a store with one relay may run
        ``append`` outside its write transaction. Returns how many were taken."""
        ...

    async def next_ready_attempt_after(self, now: datetime) -> datetime | None: ...

    async def unpublish(self, ids: Sequence[str]) -> int:
        """Forget that these ready deliveries were published (given back unsent)."""
        ...

    # --- small single-purpose writes ------------------------------------------------
    async def read_or_create_active_secrets(
        self, keyring: Keyring, service: str, now: datetime
    ) -> list[str]:
        """The signing plaintexts (a read); the first secret is created if none."""
        ...

    async def consume_link(self, jti: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record one use of a sign-in link; False when it was used before (of two
        concurrent uses exactly one gets True)."""
        ...
