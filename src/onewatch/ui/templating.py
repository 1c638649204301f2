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
    "signed-out": "Signed out.",
}


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` with the viewer, its CSRF token and any notice the URL names."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    values = {"viewer": viewer, "notice": notice, **context}
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response
