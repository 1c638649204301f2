"""Speaking to the dashboard as a browser would: cookies, CSRF tokens from the pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.live import LiveApp

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """Paste ``token`` into the sign-in form, as a person would."""
    form = await http.get("/ui/login")
    return await http.post("/ui/login", data={"token": token, "csrf_token": csrf_of(form.text)})


@asynccontextmanager
async def browser(
    live: LiveApp, service: str | None = None, *, admin: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client, signed in as ``service`` when one is given."""
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        if service is not None:
            answer = await sign_in(http, live.token(service, admin=admin))
            assert answer.status_code == 303, answer.text
        yield http


async def post_form(
    http: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """Submit a form found on ``page`` with that page's CSRF token."""
    html = (await http.get(page)).text
    return await http.post(action, data={"csrf_token": csrf_of(html), **fields})
