"""``POST /v1/schedules/preview``: what a pattern means and when it fires next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.access import require_service_access
from onewatch.application.event_ops import calendar_rules_from
from onewatch.application.scheduling import compile_pattern, pattern_error, preview_occurrences
from onewatch.domain.documents import SchedulePreviewRequest, SchedulingPattern, utc_text
from onewatch.domain.schedule import InvalidPattern, Schedule, describe_pattern, normalize_timezone
from onewatch.domain.schedule.business import NonBusinessDay, calendar_from_rules, days_off
from onewatch.runtime import Runtime
from onewatch.security.tokens import Principal

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], dependencies=[RateLimitDep])

#: The pattern's own occurrences looked at to explain the days off of a preview.
_EXPLAINED = 500


@router.post("/preview")
async def preview_schedule(
    request: SchedulePreviewRequest, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The next ``count`` fires after ``after`` (default now), and a plain-English reading;
    ``occurrences`` pairs each with its jittered send time (of the event ``key`` names).

    With a calendar: ``daysOff`` lists the occurrences of the pattern alone that fell on
    a day off, why, and the business day each moved to (null: skipped).
    """
    after = request.after or runtime.clock.now()
    pattern = request.scheduling_pattern
    rules = await _calendar_rules(runtime, principal, request)
    schedule = compile_pattern(pattern, after, rules)
    try:
        fires = schedule.upcoming(after, 0, request.count)
        description = describe_pattern(pattern.pattern)
    except InvalidPattern as exc:
        raise pattern_error(exc) from exc
    answer: dict[str, Any] = {
        "description": description,
        "timezone": normalize_timezone(pattern.timezone),
        "after": utc_text(after),
        "nextFires": [utc_text(moment) for moment in fires],
        "jitterSeconds": request.scheduling_pattern.jitter_seconds,
        "occurrences": preview_occurrences(
            fires, request.scheduling_pattern.jitter_seconds, _identity(request, principal)
        ),
    }
    if rules is not None:
        answer["calendar"] = pattern.calendar
        answer["daysOff"] = _days_off(pattern, schedule, rules, after, fires)
    return answer


async def _calendar_rules(
    runtime: Runtime, principal: Principal, request: SchedulePreviewRequest
) -> dict[str, Any] | None:
    key = request.scheduling_pattern.calendar
    if key is None:
        return None
    service = request.service or principal.service
    require_service_access(principal, service)
    async with runtime.store.read() as tx:
        row = await tx.get_calendar(service, key)
    return calendar_rules_from(service, key, row)


def _days_off(
    pattern: SchedulingPattern,
    schedule: Schedule,
    rules: dict[str, Any],
    after: datetime,
    fires: list[datetime],
) -> list[dict[str, Any]]:
    """The pattern's own occurrences up to the last fire shown that fell on a day off."""
    if pattern.business_day is not None or not fires:
        return []
    alone = pattern.model_copy(update={"calendar": None, "non_business_day": None})
    plain = [
        moment
        for moment in compile_pattern(alone, after).upcoming(after, 0, _EXPLAINED)
        if moment <= fires[-1]
    ]
    rule = NonBusinessDay(pattern.non_business_day or "skip")
    return [
        {
            "occurrence": utc_text(off.occurrence),
            "date": off.day.isoformat(),
            "reason": off.reason,
            "movedTo": None if off.moved_to is None else off.moved_to.isoformat(),
        }
        for off in days_off(plain, schedule.zone, calendar_from_rules(rules), rule)
    ]


def _identity(request: SchedulePreviewRequest, principal: Principal) -> tuple[str, str] | None:
    """The (service, key) the jitter offsets are computed for; the caller's own service
    unless the body names another (an offset reveals nothing of another service's data)."""
    if request.key is None:
        return None
    return request.service or principal.service, request.key
