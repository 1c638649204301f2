"""The store down (503) or full (507), and any unhandled error (500): the JSON error shape.

PostgreSQL goes down through ``tests.support.tcp_proxy`` (the shared server keeps
running for everyone else). SQLite runs out of room through ``PRAGMA max_page_count``:
SQLite then fails a write that needs one more page with SQLITE_FULL, the same error
and the same rollback as a full disk. A real full filesystem (a small tmpfs or loop
mount) needs root and mount rights that CI runners lack, and leaves a mount behind if
the test process dies; the page limit works unprivileged, anywhere, and is lifted by
the test as space "returns".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from onewatch.store.postgres.engine import libpq_url
from tests.api.samples import event, webhook_action
from tests.support.databases import fresh_database_url
from tests.support.live import LiveApp, live_app
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.waiting import wait_for

SHAPE = {"error", "message", "errors"}
#: A title that makes each event row take a good part of a page, so pages run out soon.
LONG_TITLE = "t" * 900


def _assert_refused(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == SHAPE
    assert response.json()["error"] == error
    assert int(response.headers["Retry-After"]) > 0


def _put_body(key: str) -> dict[str, Any]:
    document = event(key, title=LONG_TITLE)
    return {name: value for name, value in document.items() if name != "key"}


class PageLimit:
    """``PRAGMA max_page_count`` on each connection ``engine`` hands out (SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.pages: int | None = None
        self.unlimited = 0
        sa_event.listen(engine.sync_engine, "checkout", self._apply)

    def _apply(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {self.pages or self.unlimited}")
        cursor.close()

    async def fill(self, engine: AsyncEngine) -> None:
        """No more pages than the file has now: the disk is "full"."""
        async with engine.connect() as connection:
            self.unlimited = (await connection.execute(text("PRAGMA max_page_count"))).scalar_one()
            self.pages = (await connection.execute(text("PRAGMA page_count"))).scalar_one()

    def free(self) -> None:
        self.pages = None


async def _create_until_refused(http: httpx.AsyncClient, stored: list[str]) -> httpx.Response:
    """Create events (the fast path) until one is refused; ``stored`` gets the others."""
    for index in range(200):
        key = f"filler-{index}"
        response = await http.post("/v1/events", json=event(key, title=LONG_TITLE))
        if response.status_code != 201:
            return response
        stored.append(key)
    raise AssertionError("200 events fitted in a full store")


async def test_sqlite_full_is_507_keeps_what_is_stored_and_recovers(tmp_path: Path) -> None:
    async with live_app(tmp_path) as live, live.client("alpha") as http:
        limit = PageLimit(live.runtime.store.engine)
        await http.post("/v1/actions", json=webhook_action())
        stored = ["kept"]
        assert (await http.post("/v1/events", json=event("kept"))).status_code == 201
        await limit.fill(live.runtime.store.engine)

        not_ready = await http.get("/readyz")
        refused_fast = await _create_until_refused(http, stored)
        refused_route = await http.put("/v1/events/alpha/by-put", json=_put_body("by-put"))
        readings = [await http.get(f"/v1/events/alpha/{key}") for key in stored]

        limit.free()
        ready = await http.get("/readyz")
        after = await http.put("/v1/events/alpha/by-put", json=_put_body("by-put"))
        listed = (await http.get("/v1/events", params={"limit": 500})).json()["items"]
    assert not_ready.status_code == 503
    assert not_ready.json()["error"] == "not_ready"
    assert "writes would fail" in not_ready.json()["message"]
    _assert_refused(refused_fast, 507, "storage_full")
    _assert_refused(refused_route, 507, "storage_full")
    assert [reading.status_code for reading in readings] == [200] * len(stored)
    assert ready.status_code == 200
    assert after.status_code == 201
    assert sorted(item["key"] for item in listed) == sorted([*stored, "by-put"])


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[tuple[LiveApp, TcpProxy, str]]:
    """A node on a fresh PostgreSQL database that it reaches through a proxy."""
    async with (
        fresh_database_url("postgres", tmp_path) as url,
        tcp_proxy(url) as proxy,
        live_app(tmp_path, database_url=proxy.url_for(url)) as node,
    ):
        yield node, proxy, url


@pytest.mark.postgres
async def test_postgres_refusing_is_503_and_readyz_not_ready_until_it_returns(
    proxied: tuple[LiveApp, TcpProxy, str],
) -> None:
    live, proxy, _url = proxied
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        await proxy.cut()
        answers = [
            await http.get("/v1/events"),
            await http.post("/v1/events", json=event("fast")),
            await http.put("/v1/events/alpha/by-put", json=_put_body("by-put")),
            await http.get("/v1/deliveries"),
        ]
        not_ready = await http.get("/readyz")
        await proxy.restore()
        ready = await http.get("/readyz")
        created = await http.post("/v1/events", json=event("fast"))
    for answer in answers:
        _assert_refused(answer, 503, "store_unavailable")
    assert not_ready.status_code == 503
    assert not_ready.json()["error"] == "not_ready"
    assert ready.status_code == 200
    assert created.status_code == 201


async def _blocked_on_lock(server_url: str) -> bool:
    """Whether some backend of the test's database waits for a lock (the request)."""
    connection = await asyncpg.connect(libpq_url(server_url))
    try:
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    finally:
        await connection.close()
    return bool(waiting)


@pytest.mark.postgres
async def test_postgres_lost_mid_request_is_503_and_nothing_is_stored(
    proxied: tuple[LiveApp, TcpProxy, str],
) -> None:
    live, proxy, url = proxied
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        locker = await asyncpg.connect(libpq_url(url))  # straight to the server
        try:
            locking = locker.transaction()
            await locking.start()
            await locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            request = asyncio.create_task(http.post("/v1/events", json=event("lost")))
            await wait_for(lambda: _blocked_on_lock(url), what="the create waiting on the lock")
            await proxy.cut()
            lost = await request
            await locking.rollback()
        finally:
            await locker.close()
        await proxy.restore()
        missing = await http.get("/v1/events/alpha/lost")
        created = await http.post("/v1/events", json=event("lost"))
    _assert_refused(lost, 503, "store_unavailable")
    assert missing.status_code == 404
    assert created.status_code == 201


class _FailingMiddleware:
    """Fails on one path before the app's routing: an error outside every route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/test/middleware-fails":
            raise RuntimeError("a middleware failed")
        await self.app(scope, receive, send)


def _add_failing_parts(app: FastAPI) -> None:
    async def route_fails() -> None:
        raise KeyError("a route failed")

    app.add_api_route("/test/route-fails", route_fails)
    app.add_middleware(_FailingMiddleware)


async def test_an_unhandled_error_anywhere_is_a_json_500(tmp_path: Path) -> None:
    async with (
        live_app(tmp_path, extend=_add_failing_parts) as live,
        live.client("alpha") as http,
    ):
        in_route = await http.get("/test/route-fails")
        in_middleware = await http.get("/test/middleware-fails")
        still_serving = await http.get("/healthz")
    for answer in (in_route, in_middleware):
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "error": "internal_error",
            "message": "an unexpected error happened on the server; it is logged",
            "errors": [],
        }
    assert still_serving.status_code == 200
