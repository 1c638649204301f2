"""Backfill: the deliveries of a past range of an event's schedule, created once each.

Each occurrence gets its normal identity (the event, ``scheduled`` kind, its nominal
instant), so one the scheduler fired already, or an earlier backfill created, is counted
as existing and left alone. The event itself is not touched: its ``nextOccurrence``,
its count of occurrences and its ``maxOccurrences`` budget stay as they were (a backfill
re-creates positions of the schedule by hand, as a trigger does, outside that budget);
the range limit bounds it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping

from onewatch.domain.documents import BackfillRequest, utc_text
from onewatch.domain.jitter import jittered
from onewatch.domain.schedule import InvalidPattern, Schedule, ScheduleSpec, compile_schedule
from onewatch.domain.statuses import DeliveryKind, DeliveryStatus
from onewatch.errors import NotFound, ValidationFailed
from onewatch.ports import Store
from onewatch.store.ids import new_delivery_id

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Backfilled:
    """What a backfill did: occurrences in the range, how many were new."""

    occurrences: int
    created: int

    @property
    def existed(self) -> int:
        return self.occurrences - self.created


def _schedule_of(event: RowMapping) -> Schedule:
    """The event's schedule without its occurrence limit; ``@every`` counts from the
    event's start (its ``startAt``, else its creation), as the scheduler's chain does."""
    spec = ScheduleSpec(
        pattern=event["pattern"],
        timezone=event["timezone"],
        separation=event["separation"],
        start_at=event["start_at"],
        end_at=event["end_at"],
        anchor=event["start_at"] or event["created_at"],
    )
    try:
        return compile_schedule(spec)
    except InvalidPattern as exc:  # stored, so it compiled once: a changed engine rule
        raise ValidationFailed(f"the event's schedule no longer compiles: {exc}") from exc


def occurrences_between(
    schedule: Schedule, start: datetime, end: datetime, limit: int
) -> list[datetime]:
    """The schedule's instants in [start, end], at most ``limit + 1`` (one more than
    allowed tells the caller the range is too large without walking all of it)."""
    found: list[datetime] = []
    moment = schedule.next_fire(start - _JUST_BEFORE, 0)
    while moment is not None and moment <= end and len(found) <= limit:
        found.append(moment)
        moment = schedule.next_fire(moment, len(found))
    return found


def _check_range(request: BackfillRequest, now: datetime) -> None:
    if request.to < request.from_:
        raise ValidationFailed(f"is before from ({utc_text(request.from_)})", field="to")
    if request.to > now:
        raise ValidationFailed(
            f"is in the future (now is {utc_text(now)}): a backfill covers past occurrences;"
            " the scheduler fires the coming ones",
            field="to",
        )


def _rows(event: RowMapping, instants: list[datetime], now: datetime) -> list[dict[str, Any]]:
    jitter = event["jitter_seconds"]
    return [
        {
            "id": new_delivery_id(),
            "event_id": event["id"],
            "service": event["service"],
            "event_key": event["key"],
            "kind": DeliveryKind.SCHEDULED,
            "scheduled_for": nominal,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": jittered(event["service"], event["key"], nominal, jitter),
            "created_at": now,
            "updated_at": now,
            # Its retry age counts from now, as a redrive's does: measured from an
            # instant long past, a first failure would end it at once.
            "redriven_at": now,
        }
        for nominal in instants
    ]


async def backfill_event(
    store: Store,
    service: str,
    key: str,
    request: BackfillRequest,
    *,
    now: datetime,
    limit: int,
) -> Backfilled:
    """Create the deliveries of the event's occurrences in the range that do not exist;
    a range holding more than ``limit`` occurrences is refused (422 naming ``to``)."""
    _check_range(request, now)
    async with store.write() as tx:
        event = await tx.get_event(service, key)
        if event is None:
            raise NotFound(f"no event {key!r} in service {service!r}", field="key")
        instants = occurrences_between(_schedule_of(event), request.from_, request.to, limit)
        if len(instants) > limit:
            raise ValidationFailed(
                f"the range holds more than {limit} occurrences (the most one backfill"
                " creates): narrow it",
                field="to",
            )
        created = await tx.insert_occurrences(_rows(event, instants, now))
    return Backfilled(len(instants), created)
