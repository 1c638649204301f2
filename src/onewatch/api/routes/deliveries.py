"""Deliveries: history per event, listing, one delivery, and redriving a dead one."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.access import require_service_access
from onewatch.application.audit import Actor
from onewatch.application.delivery_ops import redrive_delivery
from onewatch.application.pagination import listing_scope
from onewatch.domain.documents import utc_text
from onewatch.domain.statuses import DELIVERY_STATUSES, DeliveryStatus
from onewatch.errors import Conflict, NotFound, ValidationFailed
from onewatch.security.tokens import Principal
from onewatch.store.records import AttemptView, DeliveryFilter, DeliveryView

router = APIRouter(tags=["deliveries"], dependencies=[RateLimitDep])

MAX_LIMIT = 500
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

#: Statuses with no next attempt to show.
_NOT_SENT_AGAIN = (DeliveryStatus.SUCCEEDED, DeliveryStatus.SKIPPED)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def attempt_json(attempt: AttemptView) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "startedAt": utc_text(attempt.started_at),
        "latencyMs": attempt.latency_ms,
        "statusCode": attempt.status_code,
        "outcome": attempt.outcome,
        "responseExcerpt": attempt.response_excerpt,
        "error": attempt.error,
    }


def delivery_json(view: DeliveryView) -> dict[str, Any]:
    """A delivery as the API shows it: its event, when it was due, its state, attempts."""
    return {
        "id": view.id,
        "service": view.service,
        "eventKey": view.event_key,
        "kind": view.kind,
        "scheduledFor": utc_text(view.scheduled_for),
        "status": view.status,
        "attemptCount": view.attempt_count,
        "nextAttemptAt": (
            utc_text(view.next_attempt_at) if view.status not in _NOT_SENT_AGAIN else None
        ),
        "lastStatusCode": view.last_status_code,
        "lastError": view.last_error,
        "createdAt": utc_text(view.created_at),
        "finishedAt": utc_text(view.finished_at),
        "attempts": [attempt_json(attempt) for attempt in view.attempts],
        "skipReason": view.skip_reason,
    }


def _status(value: str | None) -> str | None:
    if value is not None and value not in DELIVERY_STATUSES:
        allowed = ", ".join(DELIVERY_STATUSES)
        raise ValidationFailed(f"must be one of {allowed}", field="status")
    return value


def _cursor(value: str | None) -> str | None:
    if value is not None and not _CURSOR.match(value):
        raise ValidationFailed("not a cursor from a previous page's nextCursor", field="cursor")
    return value


async def _page(runtime: RuntimeDep, where: DeliveryFilter) -> dict[str, Any]:
    asked = where.limit
    views = await runtime.store.list_deliveries(
        DeliveryFilter(where.service, where.status, where.event_id, where.before, asked + 1),
    )
    shown = views[:asked]
    more = len(views) > asked
    return {
        "items": [delivery_json(view) for view in shown],
        "nextCursor": shown[-1].id if more and shown else None,
    }


@router.get("/v1/deliveries")
async def list_all(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Deliveries newest first, filtered by status and service (one's own by default)."""
    where = DeliveryFilter(
        service=listing_scope(principal, service),
        status=_status(status),
        before=_cursor(cursor),
        limit=limit,
    )
    return await _page(runtime, where)


@router.get("/v1/events/{service}/{key}/deliveries")
async def list_for_event(
    service: str,
    key: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """One event's deliveries, newest first."""
    require_service_access(principal, service)
    event_id = await runtime.store.find_event_id(service, key)
    if event_id is None:
        raise NotFound(f"no event {key!r} in service {service!r}", field="key")
    where = DeliveryFilter(
        status=_status(status), event_id=event_id, before=_cursor(cursor), limit=limit
    )
    return await _page(runtime, where)


async def _visible(runtime: RuntimeDep, principal: Principal, delivery_id: str) -> DeliveryView:
    view = await runtime.store.get_delivery(delivery_id)
    if view is None or not principal.may_act_for(view.service):
        raise NotFound(f"no delivery {delivery_id!r}", field="id")
    return view


@router.get("/v1/deliveries/{delivery_id}")
async def get_one(delivery_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return delivery_json(await _visible(runtime, principal, delivery_id))


@router.post("/v1/deliveries/{delivery_id}/redrive")
async def redrive_one(
    delivery_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Send a dead delivery again with a fresh retry budget (same ``webhook-id``)."""
    view = await _visible(runtime, principal, delivery_id)
    redriven = await redrive_delivery(runtime.store, view, runtime.clock.now(), Actor.of(principal))
    if not redriven:
        raise Conflict(f"only a dead delivery can be redriven; this one is {view.status}")
    runtime.dispatch_wakeup.notify()
    return delivery_json(await _visible(runtime, principal, delivery_id))
