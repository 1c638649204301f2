"""``/v1/events``: what each service wants fired, and when."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import RowMapping

from onewatch.api.deps import EventContextDep, PrincipalDep, RuntimeDep
from onewatch.api.openapi import body_schema
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application import event_ops
from onewatch.application.access import (
    document_for_path,
    require_service_access,
    service_of_new_item,
)
from onewatch.application.action_ops import Written
from onewatch.application.audit import Actor
from onewatch.application.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    listing_scope,
    page,
)
from onewatch.application.render import event_as_input, event_json, merge_patch
from onewatch.application.visible import event_row, visible_row
from onewatch.domain.documents import EventDocument, utc_text
from onewatch.domain.statuses import DeliveryKind, DeliveryStatus, EventStatus
from onewatch.security.tokens import Principal
from onewatch.store.records import EventFilter

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[RateLimitDep])


def _answer(written: Written) -> Response:
    status = 201 if written.created else 200
    if written.body is not None:  # serialized already, as JSONResponse would
        return Response(written.body, status_code=status, media_type="application/json")
    return JSONResponse(event_json(written.row), status_code=status)


@router.post("", status_code=201)
async def create_event(
    document: EventDocument, context: EventContextDep, principal: PrincipalDep
) -> Response:
    """Register an event; its ``nextOccurrence`` is computed now. 409 when the key exists."""
    return await create_answer(context, principal, document)


async def create_answer(
    context: event_ops.EventContext, principal: Principal, document: EventDocument
) -> Response:
    """POST's work once the caller and the body are known (``api.fast_create`` shares it)."""
    service = service_of_new_item(principal, document.service)
    actor = Actor.of(principal)
    return _answer(await event_ops.create_event(context, service, document, actor))


@router.get("")
async def list_events(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service: str | None = None,
    status: EventStatus | None = None,
    action: str | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> dict[str, Any]:
    """Events in creation order, filtered, a page at a time (``nextCursor`` for the next)."""
    where = EventFilter(listing_scope(principal, service), status, action)
    after_id = decode_cursor(cursor)
    async with runtime.store.read() as tx:
        rows = await tx.list_events(where, after_id=after_id, limit=limit + 1)
    return page(rows, limit, event_json)


@router.get("/{service}/{key}")
async def get_event(
    service: str, key: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    row = await visible_row(runtime.store, principal, service, key, noun="event", get=event_row)
    return event_json(row)


@router.put("/{service}/{key}", openapi_extra=body_schema("EventDocument"))
async def put_event(
    service: str,
    key: str,
    context: EventContextDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., description="An event document (see POST)."),
) -> Response:
    """Make it so: create (201) or replace (200); the same body twice changes nothing."""
    document = EventDocument.model_validate(document_for_path(body, principal, service, key))
    actor = Actor.of(principal)
    return _answer(await event_ops.replace_event(context, service, document, actor))


@router.patch("/{service}/{key}")
async def patch_event(
    service: str,
    key: str,
    context: EventContextDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., description="A JSON merge patch (null removes a field)."),
) -> Response:
    require_service_access(principal, service)

    def merged(current: RowMapping) -> EventDocument:
        document = merge_patch(event_as_input(current), body)
        return EventDocument.model_validate(document_for_path(document, principal, service, key))

    actor = Actor.of(principal)
    return _answer(await event_ops.update_event(context, service, key, merged, actor))


@router.delete("/{service}/{key}", status_code=204)
async def delete_event(
    service: str, key: str, context: EventContextDep, principal: PrincipalDep
) -> Response:
    require_service_access(principal, service)
    await event_ops.remove_event(context, service, key, Actor.of(principal))
    return Response(status_code=204)


@router.post("/{service}/{key}/pause")
async def pause_event(
    service: str, key: str, context: EventContextDep, principal: PrincipalDep
) -> dict[str, Any]:
    require_service_access(principal, service)
    actor = Actor.of(principal)
    return event_json(await event_ops.pause_event(context, service, key, actor))


@router.post("/{service}/{key}/resume")
async def resume_event(
    service: str, key: str, context: EventContextDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Fire again from now on; fires missed while paused are not made up."""
    require_service_access(principal, service)
    actor = Actor.of(principal)
    return event_json(await event_ops.resume_event(context, service, key, actor))


@router.post("/{service}/{key}/trigger", status_code=202)
async def trigger_event(
    service: str, key: str, runtime: RuntimeDep, context: EventContextDep, principal: PrincipalDep
) -> Response:
    """Run now: one extra delivery, outside the schedule and its ``maxOccurrences``."""
    require_service_access(principal, service)
    actor = Actor.of(principal)
    delivery_id, now = await event_ops.trigger_event(context, service, key, actor)
    runtime.dispatch_wakeup.notify()
    # The same shape as GET /v1/deliveries/{id} answers, just created.
    body: dict[str, Any] = {
        "id": delivery_id,
        "service": service,
        "eventKey": key,
        "kind": DeliveryKind.MANUAL,
        "scheduledFor": utc_text(now),
        "status": DeliveryStatus.PENDING,
        "attemptCount": 0,
        "nextAttemptAt": utc_text(now),
        "lastStatusCode": None,
        "lastError": None,
        "createdAt": utc_text(now),
        "finishedAt": None,
        "attempts": [],
        "skipReason": None,
    }
    return JSONResponse(body, status_code=202)
