"""``/v1/calendars``: which days count as business days for a service's events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from onewatch.api.deps import EventContextDep, PrincipalDep, RuntimeDep
from onewatch.api.openapi import body_schema
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application import calendar_ops
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
from onewatch.application.render import calendar_json
from onewatch.application.visible import calendar_row, visible_row
from onewatch.domain.documents import CalendarDocument

router = APIRouter(prefix="/v1/calendars", tags=["calendars"], dependencies=[RateLimitDep])


def _answer(written: Written) -> JSONResponse:
    return JSONResponse(calendar_json(written.row), status_code=201 if written.created else 200)


@router.post("", status_code=201)
async def create_calendar(
    document: CalendarDocument, context: EventContextDep, principal: PrincipalDep
) -> JSONResponse:
    """Register a calendar; 409 when the service has one with this key."""
    service = service_of_new_item(principal, document.service)
    return _answer(
        await calendar_ops.create_calendar(context, service, document, actor=Actor.of(principal))
    )


@router.get("")
async def list_calendars(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service: str | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> dict[str, Any]:
    """Calendars in creation order, a page at a time (``nextCursor`` fetches the next)."""
    scope = listing_scope(principal, service)
    after_id = decode_cursor(cursor)
    async with runtime.store.read() as tx:
        rows = await tx.list_calendars(service=scope, after_id=after_id, limit=limit + 1)
    return page(rows, limit, calendar_json)


@router.get("/{service}/{key}")
async def get_calendar(
    service: str, key: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    row = await visible_row(
        runtime.store, principal, service, key, noun="calendar", get=calendar_row
    )
    return calendar_json(row)


@router.put("/{service}/{key}", openapi_extra=body_schema("CalendarDocument"))
async def put_calendar(
    service: str,
    key: str,
    context: EventContextDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., description="A calendar document (see POST)."),
) -> JSONResponse:
    """Create (201) or replace (200); the events that follow it get their next fire again."""
    document = CalendarDocument.model_validate(document_for_path(body, principal, service, key))
    return _answer(
        await calendar_ops.replace_calendar(context, service, document, actor=Actor.of(principal))
    )


@router.delete("/{service}/{key}", status_code=204)
async def delete_calendar(
    service: str, key: str, context: EventContextDep, principal: PrincipalDep
) -> Response:
    """Remove a calendar; 409 naming the events that still follow it."""
    require_service_access(principal, service)
    await calendar_ops.remove_calendar(context, service, key, actor=Actor.of(principal))
    return Response(status_code=204)
