"""``/ui/deliveries``: every delivery across events, newest first, filtered by status.

Dead ones can be chosen and redriven together (the dead letters' redrive form); the
list refreshes itself while the viewer is not choosing (``static/app.js``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onewatch.domain.statuses import DELIVERY_STATUSES
from onewatch.store.records import DeliveryFilter
from onewatch.ui.deps import RuntimeDep, ViewerDep
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/deliveries")

PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
async def deliveries_list(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    service: str = "",
    status: str = "",
    before: str = "",
) -> HTMLResponse:
    """A page of ``list_deliveries`` (keyset on the delivery id, an indexed range)."""
    scope = viewer.scope(service)
    chosen = status if status in DELIVERY_STATUSES else None
    where = DeliveryFilter(scope, chosen, before=before or None, limit=PAGE_SIZE + 1)
    views = await runtime.store.list_deliveries(where)
    shown = views[:PAGE_SIZE]
    older = shown[-1].id if len(views) > PAGE_SIZE and shown else None
    return page(
        request,
        "deliveries.html",
        viewer,
        deliveries=shown,
        older=older,
        service=scope or "",
        status=chosen or "",
        statuses=DELIVERY_STATUSES,
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )
