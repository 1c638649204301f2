"""The Jinja2 environment: templates shipped in the package, autoescaped, with filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from onewatch.ui import formatting
from onewatch.ui.session import CSRF_FIELD, Viewer

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.filters.update(
    in_zone=formatting.in_zone,
    utc=formatting.utc,
    iso=formatting.iso,
    seconds=formatting.seconds_text,
    offset=formatting.offset_text,
)
templates.env.globals["csrf_field"] = CSRF_FIELD

#: Scripts and styles only from the package's own static files; no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: Messages a redirect may ask a page to show (``?notice=paused``); never free text.
NOTICES = {
    "created": "Event created.",
    "saved": "Event saved.",
    "paused": "Event paused.",
    "resumed": "Event resumed.",
    "triggered": "Run now: a delivery was queued.",
    "deleted": "Event deleted.",
    "redriven": "Redrive queued.",
    "bulk-paused": "{count} event(s) paused, {skipped} skipped.",
    "bulk-resumed": "{count} event(s) resumed, {skipped} skipped.",
    "signed-out": "Signed out.",
}


def _count(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else 0


def _notice(request: Request) -> str | None:
    """The notice the URL names, with its counts (numbers only: never free text)."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    if notice is None or "{" not in notice:
        return notice
    return notice.format(count=_count(request, "count"), skipped=_count(request, "skipped"))


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` with the viewer, its CSRF token and any notice the URL names."""
    notice = _notice(request)
    values = {"viewer": viewer, "notice": notice, **context}
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response
