"""The dashboard: server-rendered pages under ``/ui``, served by the API's own app.

Pages use the API's rules and operations (``api.event_ops``, ``api.deps``, the store
queries), never their own copies; the browser holds its token in an HttpOnly cookie
(``ui.session``). ``install_ui`` adds the routes, the static files (htmx is vendored:
many deployments have no internet) and HTML versions of the API's error answers.
"""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from onewatch.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OnewatchError,
    Unauthorized,
    ValidationFailed,
)
from onewatch.ui.routes import (
    actions,
    audit,
    auth,
    dead_letters,
    deliveries,
    event_form,
    events,
    overview,
)
from onewatch.ui.session import SignInRequired, Viewer, current_viewer
from onewatch.ui.templating import STATIC_DIR, page

__all__ = ["install_ui"]

_STATUS: tuple[tuple[type[OnewatchError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (ValidationFailed, 422),
)


def _for_ui(request: Request) -> bool:
    return request.url.path == "/ui" or request.url.path.startswith("/ui/")


def _sign_in(request: Request) -> RedirectResponse:
    back = request.url.path if request.method == "GET" else "/ui/"
    return RedirectResponse(f"/ui/login?next={quote(back)}", status_code=303)


def _viewer_or_none(request: Request) -> Viewer | None:
    try:
        return current_viewer(request)
    except SignInRequired:
        return None


def _error_page(request: Request, status: int, message: str) -> Response:
    viewer = _viewer_or_none(request)
    return page(request, "error.html", viewer, status_code=status, message=message)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call the API's own handler for a path outside the dashboard (sync or async)."""
    answer = handler(request, exc)
    if inspect.isawaitable(answer):
        answer = await answer
    assert isinstance(answer, Response)
    return answer


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard from ``app`` (after the API's error handlers are installed)."""
    json_errors = app.exception_handlers[OnewatchError]
    http_errors = app.exception_handlers[StarletteHTTPException]

    async def onewatch_error(request: Request, exc: Exception) -> Response:
        if not _for_ui(request):
            return await _delegate(json_errors, request, exc)
        if isinstance(exc, Unauthorized):
            return _sign_in(request)
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        text = "Not found." if isinstance(exc, NotFound) else str(exc)
        return _error_page(request, status, text)

    async def http_error(request: Request, exc: Exception) -> Response:
        if not _for_ui(request) or not isinstance(exc, StarletteHTTPException):
            return await _delegate(http_errors, request, exc)
        return _error_page(request, exc.status_code, str(exc.detail))

    async def sign_in_required(request: Request, _exc: Exception) -> Response:
        return _sign_in(request)

    app.add_exception_handler(OnewatchError, onewatch_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    for module in (auth, overview, event_form, events, actions, dead_letters, deliveries, audit):
        app.include_router(module.router, include_in_schema=False)
