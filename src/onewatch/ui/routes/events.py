"""``/ui/events``: the list, one event's page, and its buttons (pause, resume, run, delete)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import RowMapping
from starlette.datastructures import FormData

from onewatch.api.deps import EventContextDep, get_event_context
from onewatch.application import event_ops
from onewatch.application.audit import Actor
from onewatch.application.pagination import decode_cursor, split_page
from onewatch.application.visible import event_row, visible_row
from onewatch.domain.schedule import InvalidPattern, describe_pattern
from onewatch.domain.statuses import EVENT_STATUSES
from onewatch.errors import NotFound, OnewatchError, ValidationFailed
from onewatch.runtime import Runtime
from onewatch.store.records import DeliveryFilter, DeliveryView, EventFilter
from onewatch.ui.deps import FormDep, RuntimeDep, ViewerDep
from onewatch.ui.schedule_view import next_fires, with_clock_changes
from onewatch.ui.session import Viewer
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/events")

PAGE_SIZE = 25
HISTORY_SIZE = 25


def describe(pattern: str) -> str:
    try:
        return describe_pattern(pattern)
    except InvalidPattern as exc:
        return f"(not understood: {exc})"


@dataclass(frozen=True)
class Listing:
    rows: list[RowMapping]
    next_cursor: str | None
    #: Each shown event's last result (``StoreTransaction.last_results``), by event id.
    results: dict[int, RowMapping] = field(default_factory=dict)
    #: The "failing" filter looked through every recent failure (else: it says so).
    complete: bool = True


async def _listing(
    runtime: Runtime, where: EventFilter, cursor: str, *, failing: bool = False
) -> Listing:
    after_id = decode_cursor(cursor)
    complete = True
    async with runtime.store.read() as tx:
        if failing:
            found = await tx.failing_event_ids(where.service)
            complete = found.complete
            rows = await tx.list_events_among(
                found.event_ids, where, after_id=after_id, limit=PAGE_SIZE + 1
            )
        else:
            rows = await tx.list_events(where, after_id=after_id, limit=PAGE_SIZE + 1)
        shown, next_cursor = split_page(rows, PAGE_SIZE)
        results = await tx.last_results([row["id"] for row in shown])
    return Listing(shown, next_cursor, results, complete)


@router.get("", response_class=HTMLResponse)
async def events_list(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    q: str = "",
    service: str = "",
    status: str = "",
    action: str = "",
    result: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Searchable, filterable and paginated (keyset, like the API); each event with its
    last result, and ``result=failing`` for those whose last delivery failed."""
    where = EventFilter(
        service=viewer.scope(service),
        status=status if status in EVENT_STATUSES else None,
        action=action.strip() or None,
        search=q.strip() or None,
    )
    failing = result == "failing"
    try:
        listing = await _listing(runtime, where, cursor, failing=failing)
    except ValidationFailed:  # a cursor this server did not make: start over
        listing = await _listing(runtime, where, "", failing=failing)
    filters = {
        "q": q,
        "service": where.service or "",
        "status": where.status or "",
        "action": action,
        "result": "failing" if failing else "",
    }
    return page(
        request,
        "events.html",
        viewer,
        listing=listing,
        filters=filters,
        statuses=EVENT_STATUSES,
        describe=describe,
    )


async def visible_event(runtime: Runtime, viewer: Viewer, service: str, key: str) -> RowMapping:
    """The event, when the viewer may see it; a foreign one is "not found", as in the API."""
    return await visible_row(
        runtime.store, viewer.principal, service, key, noun="event", get=event_row
    )


def _coming(row: RowMapping, now: datetime) -> tuple[list[object], str | None]:
    try:
        fires = next_fires(row, now)
    except OnewatchError as exc:
        return [], str(exc)
    return list(with_clock_changes(fires, row["timezone"], now)), None


@dataclass(frozen=True)
class History:
    """A page of an event's deliveries, newest first, each with all its attempts."""

    deliveries: list[DeliveryView]
    before: str
    older: str | None


async def _history(runtime: Runtime, event_id: int, before: str) -> History:
    where = DeliveryFilter(event_id=event_id, before=before or None, limit=HISTORY_SIZE + 1)
    views = await runtime.store.list_deliveries(where)
    shown = views[:HISTORY_SIZE]
    older = shown[-1].id if len(views) > HISTORY_SIZE else None
    return History(shown, before, older)


async def event_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    ident: tuple[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = await visible_event(runtime, viewer, *ident)
    now = runtime.clock.now()
    history = await _history(runtime, row["id"], request.query_params.get("before", ""))
    fires, schedule_error = _coming(row, now)
    return page(
        request,
        "event.html",
        viewer,
        status_code=status_code,
        event=row,
        description=describe(row["pattern"]),
        fires=fires,
        schedule_error=schedule_error,
        history=history.deliveries,
        before=history.before,
        older=history.older,
        error=error,
        now=now,
    )


@router.get("/{service}/{key}", response_class=HTMLResponse)
async def event_detail(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    return await event_page(request, runtime, viewer, (service, key))


@router.get("/{service}/{key}/history", response_class=HTMLResponse)
async def event_history(
    request: Request,
    service: str,
    key: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    before: str = "",
) -> HTMLResponse:
    """The history part alone: what the event page's htmx refresh swaps in."""
    row = await visible_event(runtime, viewer, service, key)
    history = await _history(runtime, row["id"], before)
    return page(
        request,
        "_history.html",
        viewer,
        event=row,
        history=history.deliveries,
        before=history.before,
        older=history.older,
    )


Operation = Callable[[event_ops.EventContext, str, str, Actor], Awaitable[object]]


async def _act(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    ident: tuple[str, str],
    operation: Operation,
    notice: str,
) -> Response:
    """Run one button's operation; its refusal (409...) is shown on the event's page."""
    service, key = ident
    await visible_event(runtime, viewer, service, key)
    try:
        await operation(get_event_context(request), service, key, viewer.actor)
    except OnewatchError as exc:
        if isinstance(exc, NotFound):
            raise
        return await event_page(request, runtime, viewer, ident, str(exc), 409)
    return RedirectResponse(f"{event_url(service, key)}?notice={notice}", status_code=303)


def event_url(service: str, key: str) -> str:
    return f"/ui/events/{quote(service, safe='')}/{quote(key, safe='')}"


@router.post("/{service}/{key}/pause", response_model=None)
async def pause(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep, _f: FormDep
) -> Response:
    return await _act(request, runtime, viewer, (service, key), event_ops.pause_event, "paused")


@router.post("/{service}/{key}/resume", response_model=None)
async def resume(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep, _f: FormDep
) -> Response:
    return await _act(request, runtime, viewer, (service, key), event_ops.resume_event, "resumed")


@router.post("/{service}/{key}/run", response_model=None)
async def run_now(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep, _f: FormDep
) -> Response:
    """One extra delivery, due at once (the API's trigger)."""

    async def trigger(
        context: event_ops.EventContext, service: str, key: str, actor: Actor
    ) -> None:
        await event_ops.trigger_event(context, service, key, actor)
        runtime.dispatch_wakeup.notify()

    return await _act(request, runtime, viewer, (service, key), trigger, "triggered")


@router.post("/{service}/{key}/delete", response_model=None)
async def delete(
    service: str,
    key: str,
    runtime: RuntimeDep,
    context: EventContextDep,
    viewer: ViewerDep,
    _f: FormDep,
) -> Response:
    await visible_event(runtime, viewer, service, key)
    await event_ops.remove_event(context, service, key, viewer.actor)
    return RedirectResponse("/ui/events?notice=deleted", status_code=303)


#: Events one bulk form may change: a page of the list, with room to spare.
BULK_LIMIT = 100
_BULK = {"pause": event_ops.pause_event, "resume": event_ops.resume_event}


def _chosen(form: FormData) -> list[tuple[str, str]]:
    """The ``service/key`` pairs a bulk form names (neither may contain ``/``)."""
    pairs = []
    for value in form.getlist("event")[:BULK_LIMIT]:
        service, _, key = str(value).partition("/")
        if service and key:
            pairs.append((service, key))
    return pairs


def _back(form: FormData, default: str) -> str:
    """Where the form came from: a dashboard path only (no open redirect)."""
    back = str(form.get("back") or default)
    return back if back.startswith("/ui/") and "//" not in back else default


@router.post("/bulk", response_model=None)
async def bulk(context: EventContextDep, viewer: ViewerDep, form: FormDep) -> Response:
    """Pause or resume each chosen event the viewer may change, each change audited on
    its own; one that cannot (completed, or changed meanwhile) is counted as skipped."""
    operation = _BULK.get(str(form.get("op")))
    if operation is None:
        raise ValidationFailed("choose pause or resume", field="op")
    done = skipped = 0
    for service, key in _chosen(form):
        if not viewer.principal.may_act_for(service):
            skipped += 1
            continue
        try:
            await operation(context, service, key, viewer.actor)
            done += 1
        except OnewatchError:
            skipped += 1
    target = _back(form, "/ui/events")
    separator = "&" if "?" in target else "?"
    notice = f"bulk-{form.get('op')}d"
    return RedirectResponse(
        f"{target}{separator}notice={notice}&count={done}&skipped={skipped}", status_code=303
    )
