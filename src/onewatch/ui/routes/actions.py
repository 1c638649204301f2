"""``/ui/actions``: the actions a viewer may see, and for each the events that use it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onewatch.application.access import require_service_access
from onewatch.application.pagination import decode_cursor, split_page
from onewatch.errors import NotFound, ValidationFailed
from onewatch.store.records import EventFilter
from onewatch.ui.deps import RuntimeDep, ViewerDep
from onewatch.ui.routes.events import describe
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/actions")

PAGE_SIZE = 50
USERS_SHOWN = 200


@router.get("", response_class=HTMLResponse)
async def actions_list(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, service: str = "", cursor: str = ""
) -> HTMLResponse:
    scope = viewer.scope(service)
    try:
        after_id = decode_cursor(cursor)
    except ValidationFailed:
        after_id = None
    async with runtime.store.read() as tx:
        rows = await tx.list_actions(service=scope, after_id=after_id, limit=PAGE_SIZE + 1)
    shown, next_cursor = split_page(rows, PAGE_SIZE)
    return page(
        request, "actions.html", viewer, rows=shown, next_cursor=next_cursor, service=scope or ""
    )


@router.get("/{service}/{key}", response_class=HTMLResponse)
async def action_detail(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    require_service_access(viewer.principal, service)
    where = EventFilter(service=service, action=key)
    async with runtime.store.read() as tx:
        row = await tx.get_action(service, key)
        if row is None:
            raise NotFound(f"no action {service}/{key}")
        users = await tx.list_events(where, after_id=None, limit=USERS_SHOWN)
    return page(request, "action.html", viewer, action=row, users=users, describe=describe)
