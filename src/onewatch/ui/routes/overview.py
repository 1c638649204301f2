"""``/ui/``: the overview page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from onewatch.ui import overview
from onewatch.ui.deps import RuntimeDep, ViewerDep
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui")


@router.get("", include_in_schema=False)
async def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, service: str = ""
) -> HTMLResponse:
    scope = viewer.scope(service)
    now = runtime.clock.now()
    cap = runtime.settings.misfire_fire_all_cap
    figures = await overview.gather(runtime.store, scope, now, fire_all_cap=cap)
    return page(request, "overview.html", viewer, figures=figures, service=scope or "", now=now)
