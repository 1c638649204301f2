"""Which deliveries a due event makes, including occurrences missed during downtime.

Pure: the scheduler hands in the event's schedule, its stored ``next_occurrence`` and
the current instant; this decides the fires and where the schedule goes next.

``occurrences`` counts schedule positions passed, fired or not, so an event's
``maxOccurrences`` ends it at the same point of its schedule whatever the downtime was
("12 monthly runs" ends after the 12th month even if one of them was skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from onewatch.domain.schedule import Schedule

#: Positions walked one by one before jumping straight past a long missed span.
WALK_CAP = 1000


class MisfirePolicy(StrEnum):
    FIRE_ONCE = "fire_once"
    FIRE_ALL = "fire_all"
    SKIP = "skip"


@dataclass(frozen=True)
class FirePlan:
    """The deliveries to create (their due instants) and the event's next state."""

    fires: list[datetime]
    next_occurrence: datetime | None
    occurrences: int


def _walk(
    schedule: Schedule, first: datetime, occurrences: int, horizon: datetime
) -> tuple[list[datetime], datetime | None, int]:
    positions: list[datetime] = []
    moment: datetime | None = first
    count = occurrences
    while moment is not None and moment <= horizon and len(positions) < WALK_CAP:
        positions.append(moment)
        count += 1
        moment = schedule.next_fire(moment, count)
    if moment is not None and moment <= horizon:
        # A very long outage of a frequent pattern: stop counting one by one.
        moment = schedule.next_fire(horizon, count)
    return positions, moment, count


def plan_fires(
    schedule: Schedule,
    *,
    due: datetime,
    occurrences: int,
    horizon: datetime,
    late_before: datetime,
    policy: MisfirePolicy,
    fire_all_cap: int,
) -> FirePlan:
    """Fires for every position from ``due`` up to ``horizon``.

    A position before ``late_before`` (now minus the grace period) was missed: the
    policy decides whether it fires (``fire_all``, the most recent ``fire_all_cap``),
    fires once for the whole missed span (``fire_once``, at its last position) or not
    at all (``skip``). Positions inside the grace period are on time and always fire.
    """
    positions, following, count = _walk(schedule, due, occurrences, horizon)
    missed = [moment for moment in positions if moment < late_before]
    on_time = positions[len(missed) :]
    if not missed or policy is MisfirePolicy.SKIP:
        caught_up: list[datetime] = []
    elif policy is MisfirePolicy.FIRE_ONCE:
        caught_up = missed[-1:]
    else:
        caught_up = missed[-fire_all_cap:]
    return FirePlan(fires=caught_up + on_time, next_occurrence=following, occurrences=count)
