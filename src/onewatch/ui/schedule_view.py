"""An event's coming fires, with the zone's clock changes between them, and the preview.

The schedule engine computes everything; this only decides which fires to ask for and
where the "clocks change here" rows go (``offset_changes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import RowMapping

from onewatch.application.render import event_as_input
from onewatch.application.scheduling import compile_pattern, pattern_error
from onewatch.domain.documents import SchedulingPattern
from onewatch.domain.field_errors import pydantic_errors
from onewatch.domain.schedule import InvalidPattern, OffsetChange, describe_pattern, offset_changes
from onewatch.domain.statuses import EventStatus
from onewatch.errors import ValidationFailed

NEXT_FIRES = 10
PREVIEW_FIRES = 5


@dataclass(frozen=True)
class FireLine:
    """One coming fire, and the clock changes since the previous line (usually none)."""

    moment: datetime
    changes_before: list[OffsetChange] = field(default_factory=list)


def with_clock_changes(fires: list[datetime], zone: str, start: datetime) -> list[FireLine]:
    """Attach each of the zone's offset changes in ``(start, last fire]`` to the next fire."""
    if not fires:
        return []
    pending = offset_changes(zone, min(start, fires[0]), fires[-1])
    lines = []
    for moment in fires:
        before = [change for change in pending if change.at <= moment]
        pending = pending[len(before) :]
        lines.append(FireLine(moment, before))
    return lines


def next_fires(row: RowMapping, now: datetime, count: int = NEXT_FIRES) -> list[datetime]:
    """An active event's next ``count`` fires; a paused one's if it were resumed now."""
    # Only the schedule: a row stored under older rules (a header now refused) still shows.
    pattern = SchedulingPattern.model_validate(event_as_input(row)["schedulingPattern"])
    schedule = compile_pattern(pattern, anchor=row["created_at"])
    fired = row["occurrences"]
    if row["status"] == EventStatus.ACTIVE and row["next_occurrence"] is not None:
        first: datetime = row["next_occurrence"]
        return [first, *schedule.upcoming(first, fired + 1, count - 1)]
    if row["status"] == EventStatus.PAUSED:
        return schedule.upcoming(now, fired, count)
    return []


@dataclass(frozen=True)
class Preview:
    """What the create/edit form shows beside the pattern as it is typed."""

    description: str = ""
    zone: str = "UTC"
    fires: list[FireLine] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def preview(fields: Mapping[str, str], now: datetime) -> Preview:
    """Describe and expand a schedule, or say (by field) what is wrong with it."""
    try:
        document = SchedulingPattern.model_validate(fields)
    except ValidationError as exc:
        return Preview(errors=pydantic_errors(exc.errors(), ("schedulingPattern",)))
    try:
        schedule = compile_pattern(document, anchor=now)
        description = describe_pattern(document.pattern)
        fires = schedule.upcoming(now, 0, PREVIEW_FIRES)
    except InvalidPattern as exc:
        return Preview(errors=[_item(pattern_error(exc))])
    except ValidationFailed as exc:
        return Preview(errors=[_item(exc)])
    zone = schedule.spec.timezone
    return Preview(description, zone, with_clock_changes(fires, zone, now))


def _item(exc: ValidationFailed) -> dict[str, str]:
    return {"field": exc.field or "schedulingPattern.pattern", "reason": exc.reason}
