"""Turning a ``schedulingPattern`` document into a compiled schedule and a first fire.

The schedule engine's ``InvalidPattern`` names a part of the schedule (``timezone``,
``separation``, ``minute field``...); here it becomes a field path under
``schedulingPattern`` so the client knows which input to fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from onewatch.domain.documents import SchedulingPattern, utc_text
from onewatch.domain.jitter import jittered
from onewatch.domain.schedule import (
    InvalidPattern,
    Schedule,
    ScheduleSpec,
    compile_schedule,
    normalize_timezone,
)
from onewatch.domain.schedule.business import BusinessCalendar, NonBusinessDay, calendar_from_rules
from onewatch.errors import ValidationFailed

_SPEC_FIELDS = {
    "pattern": "pattern",
    "timezone": "timezone",
    "separation": "separation",
    "max_occurrences": "maxOccurrences",
    "maxOccurrences": "maxOccurrences",
    "start_at": "startAt",
    "startAt": "startAt",
    "end_at": "endAt",
    "endAt": "endAt",
    "calendar": "calendar",
    "nonBusinessDay": "nonBusinessDay",
    "businessDay": "businessDay",
}
#: What a named calendar stands for until the store is read (Monday to Friday): every
#: check but the days themselves runs without the store.
PLACEHOLDER_CALENDAR = BusinessCalendar()
#: The engine is gaining an ``anchor`` (where ``@every`` counts from); pass it once it exists.
_SPEC_HAS_ANCHOR = "anchor" in inspect.signature(ScheduleSpec).parameters


def pattern_error(exc: InvalidPattern) -> ValidationFailed:
    """The engine's complaint as a field path under ``schedulingPattern``."""
    field = _SPEC_FIELDS.get(exc.field)
    if field is None:  # a part of the pattern itself, e.g. "minute field"
        return ValidationFailed(f"{exc.field}: {exc.reason}", field="schedulingPattern.pattern")
    return ValidationFailed(exc.reason, field=f"schedulingPattern.{field}")


def _calendar_options(
    document: SchedulingPattern, calendar_rules: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The spec's calendar fields; ``calendar_rules``: the named calendar's stored rules."""
    if document.calendar is None:
        calendar = None
    elif calendar_rules is None:
        calendar = PLACEHOLDER_CALENDAR
    else:
        calendar = calendar_from_rules(calendar_rules)
    rule = document.non_business_day
    return {
        "calendar": calendar,
        "non_business_day": None if rule is None else NonBusinessDay(rule),
        "business_day": document.business_day,
    }


def compile_pattern(
    document: SchedulingPattern,
    anchor: datetime,
    calendar_rules: Mapping[str, Any] | None = None,
) -> Schedule:
    """Validate and compile; ``anchor`` is where ``@every`` intervals count from.

    ``calendar_rules``: the rules of the calendar the document names; without them a
    Monday-to-Friday calendar stands in (validation before the store is read).
    """
    options = _calendar_options(document, calendar_rules)
    if _SPEC_HAS_ANCHOR:
        options["anchor"] = document.start_at or anchor
    try:
        spec = ScheduleSpec(
            pattern=document.pattern,
            timezone=normalize_timezone(document.timezone),
            separation=max(document.separation, 1),
            max_occurrences=document.max_occurrences,
            start_at=document.start_at,
            end_at=document.end_at,
            **options,
        )
        return compile_schedule(spec)
    except InvalidPattern as exc:
        raise pattern_error(exc) from exc


def next_fire(schedule: Schedule, now: datetime, occurrences: int) -> datetime | None:
    try:
        return schedule.next_fire(now, occurrences)
    except InvalidPattern as exc:
        raise pattern_error(exc) from exc


def first_fire(
    schedule: Schedule, now: datetime, occurrences: int, grace_seconds: int
) -> datetime | None:
    """The next fire of a new or rescheduled event.

    A one-shot that has not fired yet may lie up to ``grace_seconds`` in the past and still
    fires at once (a client's clock or network is never exact); further back it is refused.
    """
    if not (schedule.is_one_shot and occurrences == 0):
        return next_fire(schedule, now, occurrences)
    late_fire = next_fire(schedule, now - timedelta(seconds=grace_seconds), 0)
    if late_fire is None:
        raise ValidationFailed(
            f"this one-shot instant is in the past (more than misfireGraceSeconds="
            f"{grace_seconds} ago); now is {now.isoformat()}",
            field="schedulingPattern.pattern",
        )
    return late_fire


def preview_occurrences(
    fires: list[datetime], jitter_seconds: int, identity: tuple[str, str] | None
) -> list[dict[str, str | None]]:
    """Each fire's nominal instant (``scheduledFor``, its identity) and when it is sent
    (``dueAt``: plus the event's jitter offset, which depends on the event's (service,
    key) ``identity``; None when the jitter is not zero and no event is named)."""
    occurrences: list[dict[str, str | None]] = []
    for nominal in fires:
        due: datetime | None = nominal
        if jitter_seconds:
            due = None if identity is None else jittered(*identity, nominal, jitter_seconds)
        occurrences.append({"scheduledFor": utc_text(nominal), "dueAt": utc_text(due)})
    return occurrences
