"""Read-only summaries for the dashboard's overview, narrowed to one service or to all.

Plain aggregate queries on the tables the engine writes; nothing here changes a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import AttemptOutcome, EventStatus
from onewatch.store.schema import deliveries, delivery_attempts, events

#: Most recent first attempts the lateness percentile is computed from.
LATENESS_SAMPLE = 5000


async def events_by_status(connection: AsyncConnection, service: str | None) -> dict[str, int]:
    query = select(events.c.status, func.count()).group_by(events.c.status)
    if service is not None:
        query = query.where(events.c.service == service)
    return {status: int(count) for status, count in await connection.execute(query)}


async def deliveries_by_status(connection: AsyncConnection, service: str | None) -> dict[str, int]:
    query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    if service is not None:
        query = query.where(deliveries.c.service == service)
    return {status: int(count) for status, count in await connection.execute(query)}


async def fires_between(
    connection: AsyncConnection, service: str | None, start: datetime, end: datetime
) -> int:
    """Deliveries due in ``[start, end]``: scheduled fires and runs-now alike."""
    query = select(func.count()).where(
        deliveries.c.scheduled_for >= start, deliveries.c.scheduled_for <= end
    )
    if service is not None:
        query = query.where(deliveries.c.service == service)
    return int((await connection.execute(query)).scalar_one())


async def failed_attempts_since(
    connection: AsyncConnection, service: str | None, start: datetime
) -> int:
    """Attempts since ``start`` that failed or were abandoned by a dead dispatcher."""
    query = (
        select(func.count())
        .select_from(delivery_attempts.join(deliveries))
        .where(delivery_attempts.c.started_at >= start)
        .where(delivery_attempts.c.outcome != AttemptOutcome.SUCCEEDED)
    )
    if service is not None:
        query = query.where(deliveries.c.service == service)
    return int((await connection.execute(query)).scalar_one())


async def first_attempt_lateness(
    connection: AsyncConnection, service: str | None, start: datetime
) -> list[float]:
    """Seconds from due to sent of the latest first attempts since ``start`` (a sample)."""
    query = (
        select(delivery_attempts.c.started_at, deliveries.c.scheduled_for)
        .select_from(delivery_attempts.join(deliveries))
        .where(delivery_attempts.c.attempt == 1, delivery_attempts.c.started_at >= start)
        .order_by(delivery_attempts.c.started_at.desc())
        .limit(LATENESS_SAMPLE)
    )
    if service is not None:
        query = query.where(deliveries.c.service == service)
    rows = (await connection.execute(query)).all()
    return [(started - due).total_seconds() for started, due in rows]


async def active_schedules_due_by(
    connection: AsyncConnection, service: str | None, end: datetime
) -> Sequence[RowMapping]:
    """Active events whose next fire is at or before ``end``, grouped by what they fire on.

    Events in one group fire at the same instants, so the chart counts each group once
    (``events`` is how many it holds), most populous first. ``occurrences`` only matters
    against ``max_occurrences``, so without a limit it is left out of the grouping (0).
    """
    occurrences = case(
        (events.c.max_occurrences.is_(None), literal_column("0")), else_=events.c.occurrences
    ).label("occurrences")
    schedule = (
        events.c.pattern,
        events.c.timezone,
        events.c.separation,
        events.c.max_occurrences,
        occurrences,
        events.c.start_at,
        events.c.end_at,
        events.c.next_occurrence,
        events.c.misfire_policy,
        events.c.misfire_grace_seconds,
        events.c.calendar_rules,
        events.c.non_business_day,
        events.c.business_day,
    )
    query = (
        select(*schedule, func.count().label("events"))
        .where(events.c.status == EventStatus.ACTIVE, events.c.next_occurrence <= end)
        .group_by(*schedule)
        .order_by(func.count().desc())
    )
    if service is not None:
        query = query.where(events.c.service == service)
    return (await connection.execute(query)).mappings().all()
