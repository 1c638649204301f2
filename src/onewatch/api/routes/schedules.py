"""``POST /v1/schedules/preview``: what a pattern means and when it fires next."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.scheduling import compile_pattern, pattern_error, preview_occurrences
from onewatch.domain.documents import SchedulePreviewRequest, utc_text
from onewatch.domain.schedule import InvalidPattern, describe_pattern, normalize_timezone
from onewatch.security.tokens import Principal

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], dependencies=[RateLimitDep])


@router.post("/preview")
async def preview_schedule(
    request: SchedulePreviewRequest, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The next ``count`` fires after ``after`` (default now), and a plain-English reading;
    ``occurrences`` pairs each with its jittered send time (of the event ``key`` names)."""
    after = request.after or runtime.clock.now()
    schedule = compile_pattern(request.scheduling_pattern, anchor=after)
    try:
        fires = schedule.upcoming(after, 0, request.count)
        description = describe_pattern(request.scheduling_pattern.pattern)
    except InvalidPattern as exc:
        raise pattern_error(exc) from exc
    return {
        "description": description,
        "timezone": normalize_timezone(request.scheduling_pattern.timezone),
        "after": utc_text(after),
        "nextFires": [utc_text(moment) for moment in fires],
        "jitterSeconds": request.scheduling_pattern.jitter_seconds,
        "occurrences": preview_occurrences(
            fires, request.scheduling_pattern.jitter_seconds, _identity(request, principal)
        ),
    }


def _identity(request: SchedulePreviewRequest, principal: Principal) -> tuple[str, str] | None:
    """The (service, key) the jitter offsets are computed for; the caller's own service
    unless the body names another (an offset reveals nothing of another service's data)."""
    if request.key is None:
        return None
    return request.service or principal.service, request.key
