"""``POST /v1/events/batch``: up to 1,000 event upserts in one request, a result per item.

The request is refused as a whole (400/401/413/422/429) only for what concerns the
request itself: its JSON, its token, its size, more than ``MAX_ITEMS`` items, the rate
quota. Every item's own refusal is that item's result, in the usual error shape.

Rate quota: a batch costs one request per ``ITEMS_PER_REQUEST`` items (rounded up). A
1,000-item batch costs 100, the default burst: it passes on a full bucket (a cost above
the burst leaves the bucket in debt, ``security.quotas``), and the service's average
rate of writes still holds. The event-count quota holds per item: an item past it is
refused with 403 and the items before it are stored.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from onewatch.api.deps import EventContextDep, PrincipalDep
from onewatch.api.errors import error_body, onewatch_error_parts, validation_body
from onewatch.api.openapi import Error
from onewatch.api.rate_limit import count_request, get_rate_limiter
from onewatch.application import event_batch
from onewatch.application.access import service_of_new_item
from onewatch.application.action_ops import Written
from onewatch.application.audit import Actor
from onewatch.application.event_ops import EventRules
from onewatch.application.render import event_json
from onewatch.domain.documents import EventDocument
from onewatch.domain.field_errors import pydantic_errors
from onewatch.errors import OnewatchError, ValidationFailed
from onewatch.security.quotas import RequestRateLimiter
from onewatch.security.tokens import Principal

router = APIRouter(prefix="/v1/events", tags=["events"])

#: Items that cost the rate quota as much as one request.
ITEMS_PER_REQUEST = 10


class EventBatch(BaseModel):
    """Event documents, each as ``POST /v1/events`` or ``PUT`` takes one."""

    items: list[Any] = Field(
        max_length=event_batch.MAX_ITEMS,
        description="Event documents; each is validated on its own (see EventDocument).",
        json_schema_extra={"items": {"$ref": "#/components/schemas/EventDocument"}},
    )


class EventBatchItemResult(BaseModel):
    """One item's result: 201 created, 200 replaced (or unchanged), else its error."""

    status: int = Field(description="The HTTP status a PUT of this item alone would answer.")
    event: dict[str, Any] | None = Field(
        default=None, description="The event as stored (as GET /v1/events/{service}/{key})."
    )
    error: Error | None = None


class EventBatchResult(BaseModel):
    items: list[EventBatchItemResult] = Field(description="One result per item, in order.")


def batch_cost(items: int) -> int:
    """What a batch costs the rate quota, in requests."""
    return max(1, math.ceil(items / ITEMS_PER_REQUEST))


@router.post("/batch", response_model=EventBatchResult, responses={429: {"model": Error}})
async def batch_events(
    batch: EventBatch,
    context: EventContextDep,
    principal: PrincipalDep,
    limiter: Annotated[RequestRateLimiter, Depends(get_rate_limiter)],
) -> JSONResponse:
    """Create or replace each event by (service, key), as PUT does; a result per item.

    Each item's ``service`` must be the token's (an admin token may write any); a
    (service, key) given twice is written once, the later item refused.
    """
    count_request(limiter, principal, batch_cost(len(batch.items)))
    prepared = await _prepared_items(principal, batch.items, context.clock.now(), context.rules)
    outcomes = await event_batch.upsert_events(context, prepared, Actor.of(principal))
    return JSONResponse({"items": [_result(outcome) for outcome in outcomes]})


async def _prepared_items(
    principal: Principal, items: list[Any], now: datetime, rules: EventRules
) -> list[event_batch.Prepared | Exception]:
    """Each item validated alone; the event loop gets a turn between chunks."""
    seen: dict[tuple[str, str], int] = {}
    prepared: list[event_batch.Prepared | Exception] = []
    for index, item in enumerate(items):
        if index and index % event_batch.CHUNK_ITEMS == 0:
            await asyncio.sleep(0)
        try:
            prepared.append(_prepare(principal, item, index, seen, now, rules))
        except (OnewatchError, ValidationError) as exc:
            prepared.append(exc)
    return prepared


def _prepare(
    principal: Principal,
    item: Any,
    index: int,
    seen: dict[tuple[str, str], int],
    now: datetime,
    rules: EventRules,
) -> event_batch.Prepared:
    document = EventDocument.model_validate(item)
    service = service_of_new_item(principal, document.service)
    earlier = seen.setdefault((service, document.key), index)
    if earlier != index:
        raise ValidationFailed(
            f"item {earlier} of this batch has the same service and key", field="key"
        )
    return event_batch.prepare(service, document, now, rules)


def _result(outcome: event_batch.Outcome) -> dict[str, Any]:
    if isinstance(outcome, Written):
        return {"status": 201 if outcome.created else 200, "event": event_json(outcome.row)}
    status, body = _error(outcome)
    return {"status": status, "error": body}


def _error(exc: Exception) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, OnewatchError):
        return onewatch_error_parts(exc)
    if isinstance(exc, ValidationError):
        return 422, validation_body(pydantic_errors(exc.errors()))
    return 500, error_body("internal_error", "this item could not be stored; it may be retried")
