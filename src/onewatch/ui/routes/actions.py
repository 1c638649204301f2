"""``/ui/actions``: the actions a viewer may see, and for each the events that use it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onewatch.application.access import require_service_access
from onewatch.application.pagination import decode_cursor, split_page
from onewatch.errors import NotFound, ValidationFailed
from onewatch.store import actions as store
from onewatch.store import events as event_store
from onewatch.store.transactions import read_connection
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
    async with read_connection(runtime.engine) as connection:
        rows = await store.list_actions(
            connection, service=scope, after_id=after_id, limit=PAGE_SIZE + 1
        )
    shown, next_cursor = split_page(rows, PAGE_SIZE)
    return page(
        request, "actions.html", viewer, rows=shown, next_cursor=next_cursor, service=scope or ""
    )


@router.get("/{service}/{key}", response_class=HTMLResponse)
async def action_detail(
    request: Request, service: str, key: str, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    require_service_access(viewer.principal, service)
    where = event_store.EventFilter(service=service, action=key)
    async with read_connection(runtime.engine) as connection:
        row = await store.get_action(connection, service, key)
        if row is None:
            raise NotFound(f"no action {service}/{key}")
        users = await event_store.list_events(connection, where, after_id=None, limit=USERS_SHOWN)
    return page(request, "action.html", viewer, action=row, users=users, describe=describe)
