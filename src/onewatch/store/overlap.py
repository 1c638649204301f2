"""Overlap policies in the store: deciding a new occurrence's fate, releasing a buffered one.

Atomicity owed:
- ``settle_overlaps`` runs inside the scheduler's firing transaction, after the due
  events were claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and advanced under their
  ``version``: no other scheduler can fire the same event until this one commits, so two
  nodes cannot both find "nothing unfinished" and both send.
- ``release_buffered`` runs inside the transaction that records a delivery's final
  outcome. On PostgreSQL it first locks the events concerned (``FOR UPDATE``, in id
  order): a firing transaction that buffered a new occurrence either committed before
  (the release then sees it) or has not claimed the event yet (it then sees the
  predecessor finished and sends at once). Without that lock a buffered occurrence
  committed just after the release looked could wait forever.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.overlap import InFlight, OverlapPolicy, settle
from onewatch.domain.statuses import FINISHED_STATUSES, UNFINISHED_STATUSES, DeliveryStatus
from onewatch.store.records import Advance, HeldOccurrence, Outcome
from onewatch.store.schema import deliveries, events

#: Unfinished and not buffered: what a buffered delivery waits for.
_AHEAD_STATUSES = tuple(s for s in UNFINISHED_STATUSES if s != DeliveryStatus.BUFFERED)
#: The fates that are not "send it now": what ``settle_overlaps`` reports.
_HELD_STATUSES = (DeliveryStatus.SKIPPED, DeliveryStatus.BUFFERED)


def overlap_policies(advances: Sequence[Advance]) -> dict[int, str]:
    """Event id -> overlap policy of the advanced events whose policy is not ``allow``."""
    return {a.event.id: a.event.overlap for a in advances if a.event.overlap != OverlapPolicy.ALLOW}


def finished_ids(outcomes: Sequence[Outcome]) -> list[str]:
    """Deliveries that reached their end: one buffered behind them may go now."""
    return [o.delivery_id for o in outcomes if o.status in FINISHED_STATUSES]


async def _unfinished(connection: AsyncConnection, event_ids: Sequence[int]) -> list[Any]:
    query = (
        select(deliveries.c.event_id, deliveries.c.id, deliveries.c.status)
        .where(deliveries.c.event_id.in_(event_ids))
        .where(deliveries.c.status.in_(UNFINISHED_STATUSES))
        .order_by(deliveries.c.scheduled_for, deliveries.c.id)
    )
    return list((await connection.execute(query)).all())


async def _release(connection: AsyncConnection, delivery_id: str, now: datetime) -> None:
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == DeliveryStatus.BUFFERED)
        .values(status=DeliveryStatus.PENDING, updated_at=now)
    )
    await connection.execute(statement)


async def _in_flight(
    connection: AsyncConnection, event_ids: Sequence[int], now: datetime
) -> dict[int, InFlight]:
    """Each event's unfinished deliveries; a buffered one with nothing left ahead of it
    (its predecessor finished by a path that did not release it) is released here."""
    ahead: dict[int, str] = {}
    waiting: dict[int, str] = {}
    for row in await _unfinished(connection, event_ids):
        found = waiting if row.status == DeliveryStatus.BUFFERED else ahead
        found.setdefault(row.event_id, row.id)
    states = {}
    for event_id in set(ahead) | set(waiting):
        if event_id not in ahead:
            await _release(connection, waiting[event_id], now)
            states[event_id] = InFlight(blocking=waiting[event_id])
        else:
            states[event_id] = InFlight(ahead[event_id], waiting.get(event_id))
    return states


def _by_event(rows: Sequence[dict[str, Any]], event_ids: Collection[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row["event_id"] in event_ids:
            grouped.setdefault(row["event_id"], []).append(row)
    for group in grouped.values():
        group.sort(key=lambda row: row["scheduled_for"])
    return grouped


async def settle_overlaps(
    connection: AsyncConnection,
    policies: Mapping[int, str],
    rows: Sequence[dict[str, Any]],
    now: datetime,
) -> list[HeldOccurrence]:
    """Set status (and skip reason) of the new delivery rows of events whose policy
    (``policies``: event id -> overlap, ``allow`` left out) is not ``allow``; the rows
    it skipped or buffered."""
    if not policies:
        return []
    grouped = _by_event(rows, policies)
    if not grouped:
        return []
    found = await _in_flight(connection, sorted(grouped), now)
    held = []
    for event_id, group in grouped.items():
        policy = OverlapPolicy(policies[event_id])
        fates = settle(policy, found.get(event_id, InFlight()), [row["id"] for row in group])
        for row, fate in zip(group, fates, strict=True):
            row["status"] = fate.status
            row["skip_reason"] = fate.skip_reason
            if fate.status == DeliveryStatus.SKIPPED:
                row["finished_at"] = now
            if fate.status in _HELD_STATUSES:
                held.append(HeldOccurrence(row["id"], row["service"], fate.status, fate.skip_cause))
    return held


async def stored_only(
    connection: AsyncConnection, held: Sequence[HeldOccurrence]
) -> list[HeldOccurrence]:
    """Those of ``held`` whose row the insert stored, asked after it in the same
    transaction. The insert of a duplicate occurrence is a no-op (an event changed
    after its look-ahead fire comes due at the same instant again): that occurrence was
    settled, and counted, when it was first stored. Rare, so asked only when any is held."""
    if not held:
        return []
    query = select(deliveries.c.id).where(deliveries.c.id.in_([h.delivery_id for h in held]))
    stored = set((await connection.execute(query)).scalars())
    return [h for h in held if h.delivery_id in stored]


def _concerned_events() -> Any:
    """Events of the finished deliveries (``ids``) that may have one buffered: any whose
    policy is not ``allow`` (a buffered one may be committing right now), and any with
    one already buffered (the policy was changed since). Built once: this runs with
    every batch of outcomes recorded."""
    buffered = deliveries.alias("buffered")
    has_buffered = exists().where(
        buffered.c.event_id == events.c.id, buffered.c.status == DeliveryStatus.BUFFERED
    )
    of_finished = select(deliveries.c.event_id).where(
        deliveries.c.id.in_(bindparam("ids", expanding=True))
    )
    return (
        select(events.c.id)
        .where(events.c.id.in_(of_finished))
        .where(or_(events.c.overlap != OverlapPolicy.ALLOW, has_buffered))
        .order_by(events.c.id)
        .with_for_update()
    )


_CONCERNED_EVENTS = _concerned_events()

#: The same question on SQLite, sent through the driver in one trip to its thread
#: (SQLAlchemy's cursor takes three or four, ``store.one_trip``): it runs with every
#: batch of outcomes and almost always finds nothing. One writer: no lock to take.
_CONCERNED_EVENTS_SQLITE = (
    "SELECT DISTINCT e.id FROM events AS e JOIN deliveries AS d ON d.event_id = e.id"
    " WHERE d.id IN ({marks}) AND (e.overlap <> 'allow' OR EXISTS (SELECT 1 FROM"
    " deliveries AS b WHERE b.event_id = e.id AND b.status = 'buffered'))"
)


def _release_statement() -> Any:
    ahead = deliveries.alias("ahead")
    still_ahead = exists().where(
        and_(ahead.c.event_id == deliveries.c.event_id, ahead.c.status.in_(_AHEAD_STATUSES))
    )
    return (
        update(deliveries)
        .where(deliveries.c.event_id.in_(bindparam("events", expanding=True)))
        .where(deliveries.c.status == DeliveryStatus.BUFFERED, ~still_ahead)
        .values(
            status=DeliveryStatus.PENDING,
            updated_at=bindparam("now", type_=deliveries.c.updated_at.type),
        )
    )


_RELEASE = _release_statement()


async def _concerned(connection: AsyncConnection, finished_ids: Sequence[str]) -> list[int]:
    if connection.dialect.name == "sqlite":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        sql = _CONCERNED_EVENTS_SQLITE.format(marks=", ".join("?" * len(finished_ids)))
        return [int(row[0]) for row in await driver.execute_fetchall(sql, list(finished_ids))]
    found = await connection.execute(_CONCERNED_EVENTS, {"ids": list(finished_ids)})
    return [int(ident) for ident in found.scalars().all()]


async def release_buffered(
    connection: AsyncConnection, finished_ids: Sequence[str], now: datetime
) -> int:
    """Make pending the buffered delivery of each event whose last unfinished delivery is
    among ``finished_ids`` (just recorded as finished, in this transaction); how many."""
    if not finished_ids:
        return 0
    locked = await _concerned(connection, finished_ids)
    if not locked:
        return 0
    result = await connection.execute(_RELEASE, {"events": list(locked), "now": now})
    return int(result.rowcount)
