"""A real Onewatch app served by uvicorn on 127.0.0.1, for the security tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import uvicorn
from fastapi import FastAPI

from onewatch.api.app import create_app
from onewatch.runtime import Runtime
from onewatch.settings import Settings


class FixedClock:
    """A clock the test sets."""

    def __init__(self, now: datetime | None = None) -> None:
        self.moment = now or datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


def build_app(settings: Settings, clock: FixedClock | None = None) -> FastAPI:
    runtime = Runtime.from_settings(settings)
    if clock is not None:
        runtime.clock = clock
    return create_app(runtime)


@asynccontextmanager
async def served(app: FastAPI, log_level: str = "warning") -> AsyncIterator[httpx.AsyncClient]:
    """Serve ``app`` on a free port of 127.0.0.1; yield a client pointed at it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level=log_level, access_log=True)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


Minter = Callable[..., str]
