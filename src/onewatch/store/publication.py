"""The deliveries table's side of queue mode: which rows the relay must put on the stream.

The table stays the truth. A ready row (or a lapsed lease) not published since its
``next_attempt_at``, or not for ``republish_after``, needs publishing; the relay locks a
batch of them (``FOR UPDATE SKIP LOCKED``, so several relays share the work), appends
them to the stream, and stamps ``published_at`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.domain.statuses import READY_STATUSES, DeliveryStatus
from onewatch.store.schema import deliveries


def _needing_publication(now: datetime, republish_after: timedelta, limit: int) -> Select[str]:
    table = deliveries.c
    ready = or_(
        and_(table.status.in_(READY_STATUSES), table.next_attempt_at <= now),
        and_(table.status == DeliveryStatus.RUNNING, table.locked_until < now),
    )
    unpublished = or_(
        table.published_at.is_(None),
        table.published_at < table.next_attempt_at,
        table.published_at < now - republish_after,
    )
    return (
        select(table.id)
        .where(ready, unpublished)
        .order_by(table.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def lock_needing_publication(
    connection: AsyncConnection, now: datetime, *, republish_after: timedelta, limit: int
) -> list[str]:
    """Lock (until the transaction ends) and return up to ``limit`` ids to publish."""
    statement = _needing_publication(now, republish_after, limit)
    return list((await connection.execute(statement)).scalars())


async def mark_published(connection: AsyncConnection, ids: Sequence[str], now: datetime) -> None:
    """Stamp ``published_at``: call it in the transaction that locked the rows."""
    statement = update(deliveries).where(deliveries.c.id.in_(ids)).values(published_at=now)
    await connection.execute(statement)


async def next_ready_attempt_after(connection: AsyncConnection, now: datetime) -> datetime | None:
    """The earliest attempt of a ready delivery still in the future (None: there is none)."""
    statement = select(func.min(deliveries.c.next_attempt_at)).where(
        deliveries.c.status.in_(READY_STATUSES), deliveries.c.next_attempt_at > now
    )
    earliest: datetime | None = (await connection.execute(statement)).scalar()
    return earliest


async def unpublish(connection: AsyncConnection, ids: Sequence[str]) -> int:
    """Forget that these ready deliveries were published (a node gave them back unsent
    and dropped their entries), so a relay publishes them at once rather than after
    ``republish_after``; returns how many."""
    statement = (
        update(deliveries)
        .where(deliveries.c.id.in_(list(ids)), deliveries.c.status.in_(READY_STATUSES))
        .values(published_at=None)
    )
    result = await connection.execute(statement)
    return int(result.rowcount)
