"""Read-only summaries for the dashboard's overview, narrowed to one service or to all.

Plain aggregate queries on the tables the engine writes; nothing here changes a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.schema import deliveries, delivery_attempts, events

#: Most recent first attempts the lateness percentile is computed from.
LATENESS_SAMPLE = 5000
#: Events whose fires the next-24-hours chart expands at most.
UPCOMING_EVENTS_LIMIT = 1000


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
        .where(delivery_attempts.c.outcome != "succeeded")
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


async def active_events_due_by(
    connection: AsyncConnection, service: str | None, end: datetime
) -> Sequence[RowMapping]:
    """Active events whose next fire is at or before ``end``, soonest first."""
    query = (
        select(events)
        .where(events.c.status == "active", events.c.next_occurrence <= end)
        .order_by(events.c.next_occurrence)
        .limit(UPCOMING_EVENTS_LIMIT)
    )
    if service is not None:
        query = query.where(events.c.service == service)
    return (await connection.execute(query)).mappings().all()
