"""Creating and editing an event through a form, with the schedule previewed as it is typed.

The form's document goes through the API's own steps (``EventDocument`` validation, the
service checks of ``api.deps``, ``event_ops``), so the rules and the messages are the
API's; each message is shown next to the input its field path names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import RowMapping

from onewatch.api.deps import get_event_context
from onewatch.application import event_ops
from onewatch.application.access import document_for_path, service_of_new_item
from onewatch.domain.documents import EventDocument
from onewatch.domain.field_errors import pydantic_errors
from onewatch.errors import NotFound, OnewatchError
from onewatch.runtime import Runtime
from onewatch.ui.deps import FormDep, RuntimeDep, ViewerDep
from onewatch.ui.forms import Errors, document_from_form, form_from_event, schedule_fields
from onewatch.ui.routes.events import event_url, visible_event
from onewatch.ui.schedule_view import Preview, preview
from onewatch.ui.session import Viewer
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/events")

#: Inputs holding a JSON object: an error inside one (a header, a url value) shows at it.
JSON_INPUTS = ("params.url", "params.body", "params.header", "webhook.headers")
NEW_EVENT = {"target": "webhook", "webhook.method": "POST", "schedulingPattern.timezone": "UTC"}


async def _action_keys(runtime: Runtime, viewer: Viewer) -> list[str]:
    async with runtime.store.read() as tx:
        rows = await tx.list_actions(service=viewer.scope(None), after_id=None, limit=500)
    return sorted({row["key"] for row in rows})


async def _preview(
    runtime: Runtime, viewer: Viewer, fields: Mapping[str, str], service: str | None
) -> Preview:
    """The form's preview; a named calendar is looked up among the form's service's."""
    if not fields.get("calendar"):
        return preview(fields, runtime.clock.now())
    scope = viewer.scope(service) or viewer.principal.service
    async with runtime.store.read() as tx:
        row = await tx.get_calendar(scope, fields["calendar"])
    calendars = {} if row is None else {row["key"]: row["rules"]}
    return preview(fields, runtime.clock.now(), calendars)


async def _form_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    values: Mapping[str, Any],
    *,
    editing: RowMapping | None = None,
    errors: Errors | None = None,
) -> HTMLResponse:
    by_field: dict[str, list[str]] = {}
    errors = errors or []
    for item in errors:
        by_field.setdefault(_input_of(item["field"]), []).append(item["reason"])
    return page(
        request,
        "event_form.html",
        viewer,
        status_code=422 if errors else 200,
        values=values,
        editing=editing,
        errors=errors,
        field_errors=by_field,
        actions=await _action_keys(runtime, viewer),
        preview=await _preview(
            runtime, viewer, schedule_fields(values), values.get("service") or None
        ),
    )


def _input_of(field: str) -> str:
    """The form input an error's field is in: ``params.header.Host`` is ``params.header``'s."""
    return next((name for name in JSON_INPUTS if field.startswith(f"{name}.")), field)


def _problem(exc: OnewatchError) -> Errors:
    return [{"field": exc.field or "body", "reason": exc.reason}]


def _validated(document: dict[str, Any]) -> tuple[EventDocument | None, Errors]:
    try:
        return EventDocument.model_validate(document), []
    except ValidationError as exc:
        return None, pydantic_errors(exc.errors())


@router.get("/new", response_class=HTMLResponse)
async def new_event(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> HTMLResponse:
    return await _form_page(request, runtime, viewer, NEW_EVENT)


@router.post("/new", response_model=None)
async def create_event(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, form: FormDep
) -> Response:
    values = {name: str(value) for name, value in form.items()}
    document, errors = document_from_form(values)
    parsed, invalid = _validated(document) if not errors else (None, errors)
    if parsed is None:
        return await _form_page(request, runtime, viewer, values, errors=invalid)
    try:
        service = service_of_new_item(viewer.principal, parsed.service)
        await event_ops.create_event(get_event_context(request), service, parsed, viewer.actor)
    except OnewatchError as exc:
        return await _form_page(request, runtime, viewer, values, errors=_problem(exc))
    return RedirectResponse(f"{event_url(service, parsed.key)}?notice=created", status_code=303)


@router.get("/preview", response_class=HTMLResponse)
async def preview_part(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> HTMLResponse:
    """The live preview (htmx): description and next fires, or what is wrong, by field."""
    fields = schedule_fields({name: str(value) for name, value in request.query_params.items()})
    result = await _preview(runtime, viewer, fields, request.query_params.get("service"))
    return page(request, "_preview.html", viewer, preview=result)


@router.get("/{service}/{key}/edit", response_class=HTMLResponse)
async def edit_event(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    row = await visible_event(runtime, viewer, service, key)
    return await _form_page(request, runtime, viewer, form_from_event(row), editing=row)


@router.post("/{service}/{key}/edit", response_model=None)
async def save_event(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep, form: FormDep
) -> Response:
    row = await visible_event(runtime, viewer, service, key)
    values = {**{name: str(value) for name, value in form.items()}, "key": key, "service": service}
    document, errors = document_from_form(values)
    parsed: EventDocument | None = None
    if not errors:
        try:
            document = document_for_path(document, viewer.principal, service, key)
        except OnewatchError as exc:
            errors = _problem(exc)
        else:
            parsed, errors = _validated(document)
    if parsed is None:
        return await _form_page(request, runtime, viewer, values, editing=row, errors=errors)
    final = parsed
    try:
        await event_ops.update_event(
            get_event_context(request), service, key, lambda _row: final, viewer.actor
        )
    except NotFound:
        raise
    except OnewatchError as exc:
        return await _form_page(request, runtime, viewer, values, editing=row, errors=_problem(exc))
    return RedirectResponse(f"{event_url(service, key)}?notice=saved", status_code=303)
