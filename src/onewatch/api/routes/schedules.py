"""``POST /v1/schedules/preview``: what a pattern means and when it fires next."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.scheduling import compile_pattern, pattern_error
from onewatch.domain.documents import SchedulePreviewRequest, utc_text
from onewatch.domain.schedule import InvalidPattern, describe_pattern, normalize_timezone

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], dependencies=[RateLimitDep])


@router.post("/preview")
async def preview_schedule(
    request: SchedulePreviewRequest, runtime: RuntimeDep, _principal: PrincipalDep
) -> dict[str, Any]:
    """The next ``count`` fires after ``after`` (default now), and a plain-English reading."""
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
    }
