"""Signing in (a pasted token, or a one-time link) and out."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onewatch.api.deps import RuntimeDep, get_verifier
from onewatch.clock import SystemClock
from onewatch.errors import Unauthorized
from onewatch.security.ui_tokens import mint_session, verify_link
from onewatch.ui.deps import FormDep
from onewatch.ui.session import (
    LOGIN_CSRF_COOKIE,
    clear_session,
    login_csrf,
    remember_login_csrf,
    set_session,
)
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui")

FormText = Annotated[str, Form()]


def _signin_page(
    request: Request, template: str, error: str | None = None, status: int = 200, **context: str
) -> HTMLResponse:
    token = login_csrf(request)
    response = page(request, template, None, status, error=error, login_csrf=token, **context)
    remember_login_csrf(response, request, token)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _login_csrf_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, given)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _signin_page(request, "login.html")


def _safe_next(target: str) -> str:
    """Only a dashboard path: a sign-in must not redirect to another site."""
    if target.startswith("/ui/") and "//" not in target and "\\" not in target:
        return target
    return "/ui/"


def _signed_in(request: Request, token: str, target: str = "/ui/") -> RedirectResponse:
    response = RedirectResponse(_safe_next(target), status_code=303)
    set_session(response, request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
    return response


@router.post("/login", response_model=None)
async def login(
    request: Request, token: FormText = "", csrf_token: FormText = "", next: FormText = "/ui/"
) -> Response:
    """Check the pasted token as the API would; keep it in the session cookie."""
    if not _login_csrf_ok(request, csrf_token):
        return _signin_page(request, "login.html", "The form expired; try again.", 403)
    try:
        get_verifier(request).verify(token.strip())
    except Unauthorized as exc:
        return _signin_page(request, "login.html", f"This token was refused: {exc}", 401)
    return _signed_in(request, token.strip(), next)


@router.get("/link", response_class=HTMLResponse)
async def link_form(request: Request, token: str = "") -> HTMLResponse:
    """Ask before using the link, so a preview bot fetching it does not spend it."""
    try:
        grant = verify_link(get_verifier(request), token)
    except Unauthorized as exc:
        return _signin_page(request, "login.html", f"This sign-in link is not valid: {exc}", 401)
    who = "every service (admin)" if grant.principal.admin else grant.principal.service
    return _signin_page(request, "link.html", token=token, who=who)


@router.post("/link", response_model=None)
async def use_link(
    request: Request, runtime: RuntimeDep, token: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Spend the one-time link and start a session for its service."""
    if not _login_csrf_ok(request, csrf_token):
        return _signin_page(request, "login.html", "The form expired; try again.", 403)
    verifier = get_verifier(request)
    # Wall time, not the node's clock: PyJWT checks ``exp`` and ``iat`` against it.
    now = SystemClock().now()
    try:
        grant = verify_link(verifier, token)
    except Unauthorized as exc:
        return _signin_page(request, "login.html", f"This sign-in link is not valid: {exc}", 401)
    if not await runtime.store.consume_link(grant.jti, expires_at=grant.expires_at, now=now):
        return _signin_page(request, "login.html", "This sign-in link was used already.", 401)
    return _signed_in(request, mint_session(verifier, grant.principal, now=now))


@router.post("/logout")
async def logout(_form: FormDep) -> RedirectResponse:
    response = RedirectResponse("/ui/login?notice=signed-out", status_code=303)
    clear_session(response)
    return response
