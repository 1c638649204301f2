"""Signing in to the dashboard: pasted tokens, one-time links, the cookie, CSRF."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from onewatch.errors import Unauthorized
from onewatch.security.tokens import Principal, TokenVerifier
from onewatch.security.ui_tokens import mint_link_token, verify_link
from tests.support.live import LiveApp
from tests.ui.support import browser, csrf_of, post_form, sign_in

SRC = Path(__file__).resolve().parents[2] / "src"


async def test_pages_need_a_session_and_send_the_browser_to_sign_in(live: LiveApp) -> None:
    async with browser(live) as http:
        for path in ("/ui/", "/ui/events", "/ui/events/new", "/ui/actions", "/ui/dead-letters"):
            answer = await http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/ui/login?next=")


async def test_a_pasted_token_is_kept_in_an_httponly_strict_cookie(live: LiveApp) -> None:
    async with browser(live) as http:
        answer = await sign_in(http, live.token("alpha"))
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "onewatch_ui=" in cookie
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/ui" in cookie
        overview = await http.get("/ui/")
    assert overview.status_code == 200
    assert "alpha" in overview.text
    assert "script-src 'self'" in overview.headers["content-security-policy"]


async def test_a_bad_token_is_refused_with_the_reason(live: LiveApp) -> None:
    async with browser(live) as http:
        answer = await sign_in(http, "not-a-jwt")
        assert answer.status_code == 401
        assert "This token was refused" in answer.text
        assert "onewatch_ui" not in http.cookies
        assert (await http.get("/ui/")).status_code == 303


async def test_the_sign_in_form_needs_its_csrf_token(live: LiveApp) -> None:
    async with browser(live) as http:
        await http.get("/ui/login")
        answer = await http.post("/ui/login", data={"token": live.token("alpha")})
    assert answer.status_code == 403
    assert "onewatch_ui" not in answer.headers.get("set-cookie", "")


async def test_every_form_refuses_a_missing_or_foreign_csrf_token(live: LiveApp) -> None:
    async with live.client("alpha") as api:
        created = await api.post(
            "/v1/events",
            json={
                "key": "e1",
                "webhook": {"endpoint": "http://127.0.0.1:9/x"},
                "schedulingPattern": {"pattern": "0 9 * * *"},
            },
        )
        assert created.status_code == 201
    async with browser(live, "alpha") as http, browser(live, "alpha", admin=True) as other:
        foreign = csrf_of((await other.get("/ui/events/new")).text)
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": ""}):
            answer = await http.post("/ui/events/alpha/e1/pause", data=data)
            assert answer.status_code == 403, data
        async with live.client("alpha") as api:
            assert (await api.get("/v1/events/alpha/e1")).json()["status"] == "active"
        done = await post_form(http, "/ui/events/alpha/e1", "/ui/events/alpha/e1/pause")
        assert done.status_code == 303
    async with live.client("alpha") as api:
        assert (await api.get("/v1/events/alpha/e1")).json()["status"] == "paused"


async def test_sign_out_clears_the_session(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        answer = await post_form(http, "/ui/", "/ui/logout")
        assert answer.status_code == 303
        assert (await http.get("/ui/")).status_code == 303


def _link_token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def _use_link(http: httpx.AsyncClient, link: str) -> httpx.Response:
    confirm = await http.get(link)
    assert confirm.status_code == 200, confirm.text
    token = _link_token(link)
    return await http.post("/ui/link", data={"token": token, "csrf_token": csrf_of(confirm.text)})


async def test_a_link_signs_in_once(live: LiveApp) -> None:
    link = "/ui/link?token=" + mint_link_token(
        live.secret, Principal("alpha"), now=datetime.now(UTC)
    )
    async with browser(live) as first, browser(live) as second:
        used = await _use_link(first, link)
        assert used.status_code == 303
        assert "alpha" in (await first.get("/ui/")).text
        again = await _use_link(second, link)
        assert again.status_code == 401
        assert "used already" in again.text
        assert (await second.get("/ui/")).status_code == 303


async def test_link_and_session_tokens_are_not_api_tokens(live: LiveApp) -> None:
    token = mint_link_token(live.secret, Principal("alpha"), now=datetime.now(UTC))
    async with browser(live) as http:
        await _use_link(http, f"/ui/link?token={token}")
        session = http.cookies["onewatch_ui"]
    async with httpx.AsyncClient(base_url=live.base_url) as api:
        for bearer in (token, session):
            answer = await api.get("/v1/events", headers={"Authorization": f"Bearer {bearer}"})
            assert answer.status_code == 401


async def test_a_pasted_link_token_does_not_sign_in(live: LiveApp) -> None:
    token = mint_link_token(live.secret, Principal("alpha"), now=datetime.now(UTC))
    async with browser(live) as http:
        assert (await sign_in(http, token)).status_code == 401


def onewatch(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``onewatch`` command in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "onewatch", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", **env},
        cwd=cwd,
        timeout=60,
        check=False,
    )


async def test_the_ui_link_command_prints_a_working_link(live: LiveApp, tmp_path: Path) -> None:
    args = ("ui-link", "--service", "beta", "--admin", "--base-url", live.base_url)
    made = await asyncio.to_thread(onewatch, *args, cwd=tmp_path, ONEWATCH_JWT_SECRET=live.secret)
    assert made.returncode == 0, made.stderr
    assert made.stderr == "signed with the secret from ONEWATCH_JWT_SECRET\n"
    link = made.stdout.strip()
    assert re.fullmatch(re.escape(live.base_url) + r"/ui/link\?token=[\w.-]+", link)
    async with browser(live) as http:
        assert (await _use_link(http, link)).status_code == 303
        overview = await http.get("/ui/")
    assert "beta (admin)" in overview.text


def test_the_ui_link_command_explains_a_bad_ttl(tmp_path: Path) -> None:
    made = onewatch("ui-link", "--service", "beta", "--ttl", "soon", cwd=tmp_path)
    assert made.returncode == 1
    assert made.stderr.strip().splitlines() == [
        "error: --ttl 'soon': use a positive number and a unit s, m, h, d or w (e.g. 30d)"
    ]


def test_the_ui_link_command_makes_no_secret_where_no_server_keeps_one(tmp_path: Path) -> None:
    made = onewatch("ui-link", "--service", "beta", cwd=tmp_path)
    assert made.returncode == 1
    (line,) = made.stderr.strip().splitlines()
    assert line.startswith("error: no token signing secret at ")
    assert list(tmp_path.iterdir()) == []


async def test_after_sign_in_the_browser_returns_only_to_a_dashboard_page(live: LiveApp) -> None:
    token = live.token("alpha")
    async with browser(live) as http:
        for wanted, landed in (
            ("/ui/events", "/ui/events"),
            ("//evil.example/ui/", "/ui/"),
            ("https://evil.example/", "/ui/"),
            ("/ui//evil.example", "/ui/"),
        ):
            form = await http.get("/ui/login")  # each sign-in spends the form's token
            answer = await http.post(
                "/ui/login",
                data={"token": token, "csrf_token": csrf_of(form.text), "next": wanted},
            )
            assert answer.headers["location"] == landed, wanted


def test_links_need_the_hmac_secret() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    verifier = TokenVerifier(public_key=pem, algorithms=("ES256",))
    token = mint_link_token("x" * 48, Principal("alpha"), now=datetime.now(UTC))
    with pytest.raises(Unauthorized, match="paste a token instead"):
        verify_link(verifier, token)
