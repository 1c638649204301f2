"""Who is looking at the dashboard: the session cookie, CSRF tokens and the viewer's zone.

The cookie holds the token the viewer signed in with (a pasted API token, or a session
token minted after a one-time link), HttpOnly and SameSite=Strict, so page scripts
cannot read it and other sites cannot send it. Every form also carries a CSRF token:
an HMAC of the session token, so it needs no server-side state and works on any node.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Request, Response

from onewatch.application.audit import Actor
from onewatch.domain.schedule import InvalidPattern, normalize_timezone
from onewatch.errors import Forbidden, Unauthorized
from onewatch.security.tokens import Principal, TokenVerifier
from onewatch.security.ui_tokens import SESSION_AUDIENCE, can_mint, for_audience

SESSION_COOKIE = "onewatch_ui"
LOGIN_CSRF_COOKIE = "onewatch_login_csrf"
ZONE_COOKIE = "onewatch_tz"
CSRF_FIELD = "csrf_token"
UI_PATH = "/ui"


class SignInRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in principal, the CSRF token its forms carry, and its time zone."""

    principal: Principal
    csrf: str
    zone: str

    @property
    def actor(self) -> Actor:
        """Who the audit log names for a change made on the dashboard."""
        return Actor.of(self.principal, via="ui")

    def scope(self, service: str | None) -> str | None:
        """The service a listing shows: an admin's choice (None: all), else its own."""
        if self.principal.admin:
            return service or None
        return self.principal.service


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"onewatch-ui-csrf", hashlib.sha256).hexdigest()


def check_csrf(expected: str, given: object) -> None:
    if not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page", field="csrf")


def principal_of(verifier: TokenVerifier, token: str) -> Principal:
    """A pasted API token, or else a session token this node minted after a link."""
    try:
        return verifier.verify(token)
    except Unauthorized:
        if not can_mint(verifier):
            raise
        return for_audience(verifier, SESSION_AUDIENCE).verify(token)


def viewer_zone(request: Request) -> str:
    """The browser's zone (the cookie ``app.js`` sets from ``Intl``), else UTC."""
    try:
        return normalize_timezone(unquote(request.cookies.get(ZONE_COOKIE) or "UTC"))
    except InvalidPattern:
        return "UTC"


def current_viewer(request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = principal_of(verifier, token)
    except Unauthorized as exc:
        raise SignInRequired from exc
    return Viewer(principal, csrf_for(token), viewer_zone(request))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path=UI_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=UI_PATH, httponly=True, samesite="strict")


def login_csrf(request: Request) -> str:
    """The sign-in form's token: random, and also kept in a cookie (double submit)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def remember_login_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        path=UI_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
