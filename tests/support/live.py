"""The real app, served by uvicorn on 127.0.0.1, inside the test's own event loop.

Usage (any test package)::

    async with live_app(tmp_path) as live:
        async with live.client("svc") as http:
            response = await http.post("/v1/events", json={...})

The store is a fresh SQLite file under ``tmp_path``; the port is chosen by the OS, so
tests running in parallel (``pytest -n``) never collide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from onewatch.api.app import create_app
from onewatch.clock import Clock, SystemClock
from onewatch.runtime import Runtime
from onewatch.security.tokens import mint_token
from onewatch.settings import Role, Settings
from onewatch.store import open_store
from onewatch.store.postgres import PostgresStore
from tests.support.waiting import wait_for

TEST_SECRET = "test-secret-of-at-least-thirty-two-bytes-long"
START_DEADLINE_SECONDS = 20.0


@dataclass
class ManualClock:
    """A clock the test moves by hand."""

    current: datetime = field(default_factory=lambda: datetime(2030, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class LiveApp:
    """A running node: its base URL, its ``Runtime`` and a way to speak as a service."""

    base_url: str
    runtime: Runtime
    secret: str

    def token(self, service: str, *, admin: bool = False, ttl: timedelta | None = None) -> str:
        return mint_token(self.secret, service, admin=admin, ttl=ttl or timedelta(hours=1))

    def headers(self, service: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(service, admin=admin)}"}

    def client(self, service: str | None = None, *, admin: bool = False) -> httpx.AsyncClient:
        """An HTTP client for the node; with a service, every request carries its token."""
        headers = self.headers(service, admin=admin) if service else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


def node_settings(
    data_dir: Path, roles: Sequence[Role], database_url: str | None = None
) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'onewatch.db'}",
        roles=list(roles),
        jwt_secret=SecretStr(TEST_SECRET),
    )


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    def started() -> bool:
        if task.done():
            task.result()  # re-raises why it could not start
            raise RuntimeError("uvicorn stopped before it started")
        return bool(server.started)

    await wait_for(started, seconds=START_DEADLINE_SECONDS, what="uvicorn start")


@asynccontextmanager
async def live_app(
    tmp_path: Path,
    *,
    clock: Clock | None = None,
    roles: Sequence[Role] = ("api",),
    settings: Settings | None = None,
    database_url: str | None = None,
    extend: Callable[[FastAPI], None] | None = None,
) -> AsyncIterator[LiveApp]:
    """Serve the app on a free port until the block ends, then shut it down cleanly.

    The store is a SQLite file in ``tmp_path`` unless ``database_url`` names another
    (``tests.support.databases.fresh_database_url`` makes a PostgreSQL one). ``extend``
    may add routes or middleware to the app before it serves.
    """
    settings = settings or node_settings(tmp_path, roles, database_url)
    runtime = Runtime(
        settings=settings,
        store=open_store(settings.resolved_database_url),
        clock=clock or SystemClock(),
    )
    app = create_app(runtime)
    if extend is not None:
        extend(app)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await _wait_started(server, task)
        await _settle_wakeups(runtime)
        port = server.servers[0].sockets[0].getsockname()[1]
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        yield LiveApp(f"http://127.0.0.1:{port}", runtime, secret)
    finally:
        server.should_exit = True
        await task


async def _settle_wakeups(runtime: Runtime) -> None:
    """On PostgreSQL, once the LISTEN connection is up, consume the wake-up its connecting
    gave every channel (notifications may have been missed before it), so a test sees
    only the wake-ups its own requests cause."""
    store = runtime.store
    if not isinstance(store, PostgresStore):
        return
    hub = store.wakeup_hub

    async def connected() -> bool:
        return hub.connected

    await wait_for(connected, what="the wake-up listener to connect")
    await runtime.wakeup.wait(0)
    await runtime.dispatch_wakeup.wait(0)
