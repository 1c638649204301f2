"""``/ui/dead-letters``: deliveries that ran out of attempts, and redriving them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from onewatch.application.delivery_ops import redrive_delivery
from onewatch.domain.statuses import DeliveryStatus
from onewatch.store.records import DeliveryFilter
from onewatch.ui.deps import FormDep, RuntimeDep, ViewerDep
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/dead-letters")

PAGE_SIZE = 100


@router.get("", response_class=HTMLResponse)
async def dead_letters(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, service: str = "", before: str = ""
) -> HTMLResponse:
    scope = viewer.scope(service)
    where = DeliveryFilter(scope, DeliveryStatus.DEAD, before=before or None, limit=PAGE_SIZE + 1)
    views = await runtime.store.list_deliveries(where)
    shown = views[:PAGE_SIZE]
    older = shown[-1].id if len(views) > PAGE_SIZE and shown else None
    return page(
        request, "dead_letters.html", viewer, deliveries=shown, older=older, service=scope or ""
    )


@router.post("/redrive")
async def redrive_selected(
    runtime: RuntimeDep, viewer: ViewerDep, form: FormDep
) -> RedirectResponse:
    """Redrive each chosen delivery the viewer may see and that is still dead."""
    now = runtime.clock.now()
    done = 0
    for delivery_id in form.getlist("id"):
        view = await runtime.store.get_delivery(str(delivery_id))
        if view is not None and viewer.principal.may_act_for(view.service):
            done += await redrive_delivery(runtime.store, view, now, viewer.actor)
    if done:
        runtime.dispatch_wakeup.notify()
    back = str(form.get("back") or "/ui/dead-letters")
    target = back if back.startswith("/ui/") and "//" not in back else "/ui/dead-letters"
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}notice=redriven&count={done}", status_code=303)
