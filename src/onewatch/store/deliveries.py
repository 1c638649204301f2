"""Deliveries: claiming with a lease, recording attempts, reading, redriving, pruning.

Atomicity owed:
- ``claim_ready`` moves each row it returns from pending/retrying to running with a new
  lease in one statement; on PostgreSQL the candidates are read ``FOR UPDATE SKIP
  LOCKED`` so two dispatchers never claim the same row.
- ``record_outcomes`` writes each result only where the row is still running under the
  lease that sent it (a lease that expired and was taken over is not overwritten), and
  the attempt row commits with it.
- ``reclaim_expired`` turns running rows whose lease ran out, or whose holder node
  (``leased_by``) stopped heartbeating, back into retryable ones, recording the lost
  attempt as ``abandoned``; each row only under the lease token it was read with, and
  only if, as it is written, the lease is still lapsed (a holder that was merely slow
  and has beaten or renewed since the read keeps its rows: it may be sending them).
- ``extend_leases`` pushes out only leases still held under the caller's token, so a
  dispatcher that stalled past its lease cannot take back a row another one claimed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import (
    READY_STATUSES,
    UNFINISHED_STATUSES,
    AttemptOutcome,
    DeliveryStatus,
)
from onewatch.store.ids import new_lease_token
from onewatch.store.many import ManyRows
from onewatch.store.records import (
    AttemptView,
    ClaimedDelivery,
    DeliveryFilter,
    DeliveryView,
    Outcome,
)
from onewatch.store.schema import actions, deliveries, delivery_attempts, events, nodes

# --- claiming -------------------------------------------------------------------------


def _not_of(skip_services: Collection[str]) -> tuple[Any, ...]:
    """No rows of these services (whose earlier ones still wait in the dispatcher)."""
    return (deliveries.c.service.not_in(sorted(skip_services)),) if skip_services else ()


def _ready_ids(horizon: datetime, limit: int, skip_services: Collection[str]) -> Any:
    return (
        select(deliveries.c.id)
        .where(deliveries.c.status.in_(READY_STATUSES), deliveries.c.next_attempt_at <= horizon)
        .where(*_not_of(skip_services))
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


_CONTEXT_COLUMNS = (
    deliveries.c.id,
    deliveries.c.lease_token,
    deliveries.c.event_id,
    deliveries.c.service,
    deliveries.c.event_key,
    deliveries.c.kind,
    deliveries.c.scheduled_for,
    deliveries.c.next_attempt_at,
    deliveries.c.attempts,
    deliveries.c.attempt_base,
    deliveries.c.redriven_at,
    events.c.params,
    func.coalesce(events.c.target_type, actions.c.type).label("target_type"),
    func.coalesce(events.c.target, actions.c.target).label("target"),
    actions.c.payload,
    events.c.retry_policy.label("event_retry_policy"),
    actions.c.retry_policy.label("action_retry_policy"),
)


def _context_query() -> Any:
    joined = deliveries.join(events, events.c.id == deliveries.c.event_id).outerjoin(
        actions,
        and_(actions.c.service == events.c.service, actions.c.key == events.c.action_key),
    )
    return select(*_CONTEXT_COLUMNS).select_from(joined)


def _claimed(row: Any) -> ClaimedDelivery:
    values = dict(row._mapping)
    values["params"] = values["params"] or {}
    values["payload"] = values["payload"] or {}
    return ClaimedDelivery(**values)


async def claim_ready(
    connection: AsyncConnection,
    *,
    now: datetime,
    horizon: datetime,
    limit: int,
    lease_seconds: float,
    skip_services: Collection[str] = (),
    holder: str | None = None,
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` deliveries whose next attempt is due by ``horizon``, none of
    ``skip_services`` (so one service's backlog cannot fill every claim); the ``holder``
    node's death (a stale heartbeat) ends the lease before it runs out."""
    token = new_lease_token()
    claim = (
        update(deliveries)
        .where(deliveries.c.id.in_(_ready_ids(horizon, limit, skip_services)))
        .where(deliveries.c.status.in_(READY_STATUSES))
        .values(
            status=DeliveryStatus.RUNNING,
            lease_token=token,
            leased_by=holder,
            locked_until=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(deliveries.c.id)
    )
    ids = (await connection.execute(claim)).scalars().all()
    if not ids:
        return []
    rows = (await connection.execute(_context_query().where(deliveries.c.id.in_(ids)))).all()
    return sorted((_claimed(row) for row in rows), key=lambda item: item.next_attempt_at)


async def claim_by_ids(
    connection: AsyncConnection,
    ids: Sequence[str],
    *,
    now: datetime,
    lease_seconds: float,
    horizon: datetime | None = None,
    holder: str | None = None,
) -> list[ClaimedDelivery]:
    """Lease the given deliveries that are still ready (a stream-fed source's claim);
    with ``horizon``, only those due by then (a stale stream entry must not lease a
    retry that is due much later)."""
    if not ids:
        return []
    token = new_lease_token()
    due = deliveries.c.next_attempt_at <= (now if horizon is None else horizon)
    claim = (
        update(deliveries)
        .where(deliveries.c.id.in_(list(ids)), deliveries.c.status.in_(READY_STATUSES), due)
        .values(
            status=DeliveryStatus.RUNNING,
            lease_token=token,
            leased_by=holder,
            locked_until=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(deliveries.c.id)
    )
    claimed = (await connection.execute(claim)).scalars().all()
    if not claimed:
        return []
    query = _context_query().where(deliveries.c.id.in_(claimed))
    rows = (await connection.execute(query)).all()
    return [_claimed(row) for row in rows]


async def earliest_ready(
    connection: AsyncConnection, *, skip_services: Collection[str] = ()
) -> datetime | None:
    """When the next pending or retrying delivery (none of ``skip_services``) becomes
    due: the dispatcher's alarm."""
    query = (
        select(deliveries.c.next_attempt_at)
        .where(deliveries.c.status.in_(READY_STATUSES), *_not_of(skip_services))
        .order_by(deliveries.c.next_attempt_at)
        .limit(1)
    )
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


# --- recording ------------------------------------------------------------------------

#: A row the caller still holds: running under the lease token it was claimed with. A
#: result or release for a lease that expired and was claimed again matches nothing.
_STILL_LEASED = (
    deliveries.c.id == bindparam("b_id"),
    deliveries.c.lease_token == bindparam("b_token"),
    deliveries.c.status == DeliveryStatus.RUNNING,
)

_RECORD_STATEMENT = (
    update(deliveries)
    .where(*_STILL_LEASED)
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempt"),
        next_attempt_at=bindparam("b_next"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        finished_at=bindparam("b_finished"),
        locked_until=None,
        lease_token=None,
        leased_by=None,
        updated_at=bindparam("b_now"),
    )
)
RECORD = ManyRows(_RECORD_STATEMENT)


def _silent_holder() -> Any:
    """The row's holder node stopped, or its heartbeat is older than ``b_cutoff`` (never
    ``b_me``), as the statement sees the nodes table. Not read ``FOR SHARE``: a node
    frozen in the middle of its heartbeat's transaction (its lock held until the server
    drops the connection) would then stall every take-over of its rows."""
    silent = or_(nodes.c.stopped_at.is_not(None), nodes.c.heartbeat_at < bindparam("b_cutoff"))
    holders = select(nodes.c.id).where(silent, nodes.c.id != bindparam("b_me"))
    return deliveries.c.leased_by.in_(holders)


_LEASE_ENDED = deliveries.c.locked_until < bindparam("b_now")
#: The abandoned attempt of a lapsed lease, written only if the lease is still lapsed
#: now: ``lapsed_leases`` read it earlier, and meanwhile the holder may have beaten (it
#: was only slow, and may be sending the delivery) or renewed the lease.
TAKE_OVER_EXPIRED = ManyRows(_RECORD_STATEMENT.where(_LEASE_ENDED))
#: The same, where the holder's silence (``dead_after``) also ends its leases.
TAKE_OVER = ManyRows(_RECORD_STATEMENT.where(or_(_LEASE_ENDED, _silent_holder())))


def take_over_params(
    outcome: Outcome, now: datetime, dead_after: timedelta | None, me: str | None
) -> dict[str, Any]:
    """``record_params`` plus the silence cutoff and the caller (``TAKE_OVER``)."""
    params = record_params(outcome, now)
    if dead_after is not None:
        # "" names no node: ids are hex strings.
        params |= {"b_cutoff": now - dead_after, "b_me": me or ""}
    return params


_ATTEMPT_COLUMNS = (
    "delivery_id",
    "attempt",
    "started_at",
    "latency_ms",
    "status_code",
    "outcome",
    "response_excerpt",
    "error",
)
INSERT_ATTEMPTS = ManyRows(insert(delivery_attempts), _ATTEMPT_COLUMNS)


def record_params(outcome: Outcome, now: datetime) -> dict[str, Any]:
    return {
        "b_id": outcome.delivery_id,
        "b_token": outcome.lease_token,
        "b_status": outcome.status,
        "b_attempt": outcome.attempt,
        "b_next": outcome.next_attempt_at,
        "b_code": outcome.status_code,
        "b_error": outcome.error,
        "b_finished": outcome.finished_at,
        "b_now": now,
    }


def attempt_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "delivery_id": outcome.delivery_id,
        "attempt": outcome.attempt,
        "started_at": outcome.started_at,
        "latency_ms": outcome.latency_ms,
        "status_code": outcome.status_code,
        "outcome": outcome.attempt_outcome,
        "response_excerpt": outcome.response_excerpt,
        "error": outcome.error,
    }


_RELEASE = (
    update(deliveries)
    .where(*_STILL_LEASED)
    .values(
        status=case(
            (deliveries.c.attempts == 0, DeliveryStatus.PENDING), else_=DeliveryStatus.RETRYING
        ),
        locked_until=None,
        lease_token=None,
        leased_by=None,
        updated_at=bindparam("b_now"),
    )
)


async def release(
    connection: AsyncConnection, held: Sequence[tuple[str, str]], *, now: datetime
) -> int:
    """Give back leased deliveries that were not sent (shutdown): ready again at once."""
    if not held:
        return 0
    params = [{"b_id": ident, "b_token": token, "b_now": now} for ident, token in held]
    result = await connection.execute(_RELEASE, params)
    return int(result.rowcount)


def _dead_nodes(now: datetime, dead_after: timedelta, me: str | None) -> Any:
    """Nodes that stopped, or whose heartbeat is older than ``dead_after`` (never ``me``:
    a node's own leases are its renewer's business). A holder with no row at all (not
    registered yet, or pruned) is not among them: its lease's own end governs."""
    silent = or_(nodes.c.stopped_at.is_not(None), nodes.c.heartbeat_at < now - dead_after)
    query = select(nodes.c.id).where(silent)
    return query if me is None else query.where(nodes.c.id != me)


def _lapsed_leases(now: datetime, dead_after: timedelta | None, me: str | None) -> Any:
    lapsed: Any = deliveries.c.locked_until < now
    if dead_after is not None:
        lapsed = or_(lapsed, deliveries.c.leased_by.in_(_dead_nodes(now, dead_after, me)))
    return deliveries.c.status == DeliveryStatus.RUNNING, lapsed


async def lapsed_leases(
    connection: AsyncConnection,
    *,
    now: datetime,
    limit: int,
    dead_after: timedelta | None,
    me: str | None,
) -> list[Outcome]:
    """The abandoned attempt of each delivery whose lease expired, or (with
    ``dead_after``) whose holder node has been silent that long: a plain read, so an
    idle node never takes SQLite's write turn for it (``Store.reclaim_expired`` records
    them, conditional on the token read here)."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.lease_token,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.locked_until,
            deliveries.c.leased_by,
        )
        .where(*_lapsed_leases(now, dead_after, me))
        .limit(limit)
    )
    stale = (await connection.execute(query)).all()
    return [_abandoned(row, now) for row in stale]


def _abandoned(row: Any, now: datetime) -> Outcome:
    # Taken over from a dead node, a row may be leased ahead of its instant (the
    # look-ahead): it stays due then, not earlier.
    expired = row.locked_until < now
    return Outcome(
        delivery_id=row.id,
        lease_token=row.lease_token,
        attempt=row.attempts + 1,
        status=DeliveryStatus.RETRYING,
        next_attempt_at=max(row.next_attempt_at, now),
        started_at=now,
        latency_ms=None,
        status_code=None,
        attempt_outcome=AttemptOutcome.ABANDONED,
        response_excerpt=None,
        error=(
            "lease expired: the dispatcher stopped before recording a result"
            if expired
            else f"taken over: node {row.leased_by}, holding the lease, stopped heartbeating"
        ),
        finished_at=None,
    )


# --- reading --------------------------------------------------------------------------


_VIEW_COLUMNS = (
    deliveries.c.id,
    deliveries.c.service,
    deliveries.c.event_key,
    deliveries.c.kind,
    deliveries.c.scheduled_for,
    deliveries.c.status,
    deliveries.c.attempts.label("attempt_count"),
    deliveries.c.next_attempt_at,
    deliveries.c.last_status_code,
    deliveries.c.last_error,
    deliveries.c.created_at,
    deliveries.c.finished_at,
    deliveries.c.skip_reason,
)


def _filtered(query: Any, where: DeliveryFilter) -> Any:
    if where.service is not None:
        query = query.where(deliveries.c.service == where.service)
    if where.status is not None:
        query = query.where(deliveries.c.status == where.status)
    if where.event_id is not None:
        query = query.where(deliveries.c.event_id == where.event_id)
    if where.before is not None:
        query = query.where(deliveries.c.id < where.before)
    return query.order_by(deliveries.c.id.desc()).limit(where.limit)


async def _attempts_of(
    connection: AsyncConnection, ids: Sequence[str]
) -> dict[str, list[AttemptView]]:
    found: dict[str, list[AttemptView]] = {ident: [] for ident in ids}
    if not ids:
        return found
    query = (
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id.in_(list(ids)))
        .order_by(delivery_attempts.c.delivery_id, delivery_attempts.c.attempt)
    )
    for row in (await connection.execute(query)).all():
        values = dict(row._mapping)
        ident = values.pop("delivery_id")
        values.pop("id")
        found[ident].append(AttemptView(**values))
    return found


async def list_deliveries(connection: AsyncConnection, where: DeliveryFilter) -> list[DeliveryView]:
    """A page of deliveries, newest first, each with its attempts."""
    rows = (await connection.execute(_filtered(select(*_VIEW_COLUMNS), where))).all()
    attempts = await _attempts_of(connection, [row.id for row in rows])
    return [DeliveryView(**row._mapping, attempts=attempts[row.id]) for row in rows]


async def get_delivery(connection: AsyncConnection, delivery_id: str) -> DeliveryView | None:
    query = select(*_VIEW_COLUMNS).where(deliveries.c.id == delivery_id)
    row = (await connection.execute(query)).one_or_none()
    if row is None:
        return None
    attempts = await _attempts_of(connection, [row.id])
    return DeliveryView(**row._mapping, attempts=attempts[row.id])


async def find_event_id(connection: AsyncConnection, service: str, key: str) -> int | None:
    query = select(events.c.id).where(events.c.service == service, events.c.key == key)
    value: int | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def redrive(connection: AsyncConnection, delivery_id: str, *, now: datetime) -> bool:
    """Give a dead delivery a fresh retry budget, due now; False unless it was dead."""
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == DeliveryStatus.DEAD)
        .values(
            status=DeliveryStatus.RETRYING,
            next_attempt_at=now,
            attempt_base=deliveries.c.attempts,
            redriven_at=now,
            finished_at=None,
            updated_at=now,
        )
    )
    result = await connection.execute(statement)
    return result.rowcount == 1


async def count_by_status(connection: AsyncConnection) -> dict[str, int]:
    query = (
        select(deliveries.c.status, func.count())
        .where(deliveries.c.status.in_(UNFINISHED_STATUSES))
        .group_by(deliveries.c.status)
    )
    rows = (await connection.execute(query)).all()
    return {status: int(count) for status, count in rows}


async def oldest_pending_due(connection: AsyncConnection, *, now: datetime) -> datetime | None:
    """The due instant of the longest-waiting ready delivery that is already due."""
    query = (
        select(deliveries.c.next_attempt_at)
        .where(deliveries.c.status.in_(READY_STATUSES), deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(1)
    )
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def prune_finished(
    connection: AsyncConnection, *, older_than: datetime, limit: int = 1000
) -> int:
    """Delete up to ``limit`` finished deliveries (and their attempts) older than a bound."""
    victims = (
        select(deliveries.c.id)
        .where(deliveries.c.finished_at < older_than)
        .order_by(deliveries.c.finished_at)
        .limit(limit)
        .scalar_subquery()
    )
    await connection.execute(
        delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(victims))
    )
    result = await connection.execute(delete(deliveries).where(deliveries.c.id.in_(victims)))
    return int(result.rowcount)


# --- lease renewal --------------------------------------------------------------------

#: Ids per renewal statement: well inside SQLite's and asyncpg's bound-parameter limits.
RENEW_CHUNK = 5000


def _renew_statement(ids: list[str], tokens: set[str], now: datetime, until: datetime) -> Any:
    # The row must still be running under one of our tokens; the caller pairs each
    # returned id with the token it holds. The lease only ever grows (a claim's
    # look-ahead is kept), so renewing can never hand a row to maintenance earlier.
    # ``until`` is typed as the column: inside CASE it would otherwise bind as a plain
    # DATETIME (text on SQLite, where instants are stored as integers).
    stamp = deliveries.c.locked_until.type
    bound = literal(until, stamp)
    longer = deliveries.c.locked_until > bound
    return (
        update(deliveries)
        .where(
            deliveries.c.id.in_(ids),
            deliveries.c.lease_token.in_(sorted(tokens)),
            deliveries.c.status == DeliveryStatus.RUNNING,
        )
        .values(
            locked_until=case((longer, deliveries.c.locked_until), else_=bound),
            # A row whose lease already reaches further is left as it was.
            updated_at=case((longer, deliveries.c.updated_at), else_=literal(now, stamp)),
        )
        .returning(deliveries.c.id, deliveries.c.lease_token)
    )


async def extend_leases(
    connection: AsyncConnection, held: Mapping[str, str], *, now: datetime, lease_seconds: float
) -> set[str]:
    """Push the lease of each held delivery (id -> lease token) to at least ``now +
    lease_seconds``, in one conditional update per chunk and one transaction; returns
    the ids still leased under the given token. One missing from the answer is no longer
    ours (finished, or reclaimed and claimed by another dispatcher): do not send it."""
    if not held:
        return set()
    until = now + timedelta(seconds=lease_seconds)
    ids = sorted(held)
    kept: set[str] = set()
    for start in range(0, len(ids), RENEW_CHUNK):
        chunk = ids[start : start + RENEW_CHUNK]
        tokens = {held[ident] for ident in chunk}
        result = await connection.execute(_renew_statement(chunk, tokens, now, until))
        kept.update(ident for ident, token in result.all() if held[ident] == token)
    return kept
