"""``POST /v1/events/{service}/{key}/backfill``: the occurrences of a past range, once each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.access import require_service_access
from onewatch.application.backfill import backfill_event
from onewatch.domain.documents import BackfillRequest, utc_text

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[RateLimitDep])


@router.post("/{service}/{key}/backfill")
async def backfill(
    service: str, key: str, request: BackfillRequest, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Create the deliveries of the event's occurrences from ``from`` to ``to`` (both
    included, in the past) that do not exist yet; repeating it creates nothing twice.
    The event's ``nextOccurrence`` and occurrence count are not changed."""
    require_service_access(principal, service)
    settings = runtime.settings
    done = await backfill_event(
        runtime.store,
        service,
        key,
        request,
        now=runtime.clock.now(),
        limit=settings.backfill_max_occurrences,
    )
    if done.created:
        runtime.dispatch_wakeup.notify()
    return {
        "from": utc_text(request.from_),
        "to": utc_text(request.to),
        "occurrences": done.occurrences,
        "created": done.created,
        "existed": done.existed,
    }
