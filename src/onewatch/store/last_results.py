"""The dashboard's "last result" of each event, and the events whose last result failed.

An event's last result is its newest delivery (by due instant) that had at least one
attempt: its status (succeeded, retrying, dead, or running again), its last HTTP code
and when it changed. Each query here is bounded by what it is asked for:

- ``last_results``: one index seek per event asked for (``ix_deliveries_event``, read
  backwards from the newest due instant), for one page of the events list;
- ``failing_event_ids``: the ``scan`` newest deliveries of each failing status
  (``ix_deliveries_service_status`` gives them newest first within a service), then
  their events' last results. An event whose failure is older than those is not found:
  the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import DeliveryStatus
from onewatch.store.records import EventFilter, Failing
from onewatch.store.schema import deliveries, events

#: A last result that counts as failing.
FAILING_STATUSES = (DeliveryStatus.RETRYING, DeliveryStatus.DEAD)
#: Failed deliveries the "failing" filter looks through per status, newest first.
FAILING_SCAN = 2000
#: Event ids per ``last_results`` query (well inside every driver's parameter limit).
IN_LIST = 500


def _newest_attempted() -> Any:
    """The id of the event's newest delivery that had an attempt (correlated to ``events``)."""
    return (
        select(deliveries.c.id)
        .where(deliveries.c.event_id == events.c.id, deliveries.c.attempts > 0)
        .order_by(deliveries.c.scheduled_for.desc())
        .limit(1)
        .correlate(events)
        .scalar_subquery()
    )


def _last_results_of(event_ids: Sequence[int]) -> Select[Any]:
    joined = events.join(deliveries, deliveries.c.id == _newest_attempted())
    return (
        select(
            events.c.id.label("event_id"),
            deliveries.c.id,
            deliveries.c.status,
            deliveries.c.last_status_code,
            deliveries.c.updated_at,
        )
        .select_from(joined)
        .where(events.c.id.in_(event_ids))
    )


async def last_results(
    connection: AsyncConnection, event_ids: Sequence[int]
) -> dict[int, RowMapping]:
    """Each event's last result (absent: no attempt yet), by event id."""
    if not event_ids:
        return {}
    rows = (await connection.execute(_last_results_of(event_ids))).mappings().all()
    return {row["event_id"]: row for row in rows}


def _recent_failures(service: str | None, status: str, scan: int) -> Select[Any]:
    """One status at a time: ``(service, status, id)`` then gives the order, no sort."""
    query = (
        select(deliveries.c.event_id)
        .where(deliveries.c.status == status)
        .order_by(deliveries.c.id.desc())
        .limit(scan)
    )
    if service is not None:
        query = query.where(deliveries.c.service == service)
    return query


async def failing_event_ids(
    connection: AsyncConnection, service: str | None, *, scan: int = FAILING_SCAN
) -> Failing:
    """Events (of ``service``, or all) whose last result is retrying or dead, by id."""
    seen: set[int] = set()
    complete = True
    for status in FAILING_STATUSES:
        found = (await connection.scalars(_recent_failures(service, status, scan))).all()
        seen.update(found)
        complete = complete and len(found) < scan
    candidates = sorted(seen)
    failing: list[int] = []
    for start in range(0, len(candidates), IN_LIST):
        results = await last_results(connection, candidates[start : start + IN_LIST])
        failing += [
            event_id
            for event_id, row in sorted(results.items())
            if row["status"] in FAILING_STATUSES
        ]
    return Failing(failing, complete)


async def list_events_among(
    connection: AsyncConnection,
    event_ids: Sequence[int],
    where: EventFilter,
    *,
    after_id: int | None,
    limit: int,
) -> Sequence[RowMapping]:
    """A page (id order, after ``after_id``) of the events among ``event_ids`` that pass
    ``where`` (as ``store.events.list_events`` filters): the "failing" listing."""
    if not event_ids:
        return []
    query = select(events).where(events.c.id.in_(event_ids)).order_by(events.c.id).limit(limit)
    if where.service is not None:
        query = query.where(events.c.service == where.service)
    if where.status is not None:
        query = query.where(events.c.status == where.status)
    if where.action is not None:
        query = query.where(events.c.action_key == where.action)
    if where.search:
        needle = where.search.lower()
        query = query.where(
            or_(
                func.lower(events.c.key).contains(needle, autoescape=True),
                func.lower(events.c.title).contains(needle, autoescape=True),
            )
        )
    if after_id is not None:
        query = query.where(events.c.id > after_id)
    return (await connection.execute(query)).mappings().all()
