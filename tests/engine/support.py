"""Helpers for the firing tests: rows written straight to the store, a recording target
server on 127.0.0.1, a settable clock and condition waits with deadlines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.domain.schedule import ScheduleSpec, compile_schedule
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.schema import actions, deliveries, delivery_attempts, events
from tests.support.waiting import wait_for as wait_for  # the tests import it from here


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'onewatch.db'}",
        "roles": ["scheduler", "dispatcher"],
        "dispatcher_poll_seconds": 0.2,
        "dispatcher_lease_seconds": 30.0,
        "http_total_timeout_seconds": 5.0,
        "dispatcher_shutdown_grace_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


async def migrated_store(settings: Settings) -> SqlStore:
    store = open_store(settings.resolved_database_url)
    await store.migrate()
    return store


async def migrated_engine(settings: Settings) -> AsyncEngine:
    """The engine of the migrated store: for tests that seed and read rows straight."""
    return (await migrated_store(settings)).engine


async def make_runtime(settings: Settings, clock: Any = None) -> Runtime:
    runtime = Runtime(settings=settings, store=await migrated_store(settings))
    if clock is not None:
        runtime.clock = clock
    return runtime


def utcnow() -> datetime:
    return datetime.now(UTC)


async def add_action(
    engine: AsyncEngine,
    *,
    service: str = "billing",
    key: str,
    type_: str = "webhook",
    target: dict[str, Any],
    payload: dict[str, Any] | None = None,
    retry_policy: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(
            insert(actions).values(
                service=service,
                key=key,
                type=type_,
                target=target,
                payload=payload or {},
                retry_policy=retry_policy,
                created_at=now,
                updated_at=now,
            )
        )


async def add_event(
    engine: AsyncEngine,
    *,
    key: str,
    pattern: str,
    service: str = "billing",
    action_key: str | None = None,
    target_type: str | None = None,
    target: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    now: datetime | None = None,
    **columns: Any,
) -> int:
    """An active event whose next_occurrence the schedule engine computes."""
    now = now or utcnow()
    spec = ScheduleSpec(
        pattern=pattern,
        timezone=columns.get("timezone", "UTC"),
        separation=columns.get("separation", 1),
        max_occurrences=columns.get("max_occurrences"),
        start_at=columns.get("start_at"),
        end_at=columns.get("end_at"),
    )
    first = compile_schedule(spec).next_fire(columns.pop("after", now - timedelta(days=3650)), 0)
    values = {
        "service": service,
        "key": key,
        "action_key": action_key,
        "target_type": target_type,
        "target": target,
        "params": params or {},
        "pattern": pattern,
        "timezone": "UTC",
        "status": "active",
        "next_occurrence": first,
        "created_at": now,
        "updated_at": now,
        **columns,
    }
    # A JSON column stores Python None as JSON 'null', not SQL NULL: leave them out.
    values = {name: value for name, value in values.items() if value is not None}
    async with engine.begin() as connection:
        result = await connection.execute(insert(events).values(**values))
    return int(result.inserted_primary_key[0])


async def add_delivery(
    engine: AsyncEngine,
    *,
    ident: str,
    event_id: int,
    event_key: str,
    due: datetime,
    service: str = "billing",
    **columns: Any,
) -> None:
    """A delivery row written straight to the store (pending and due at ``due`` unless
    ``columns`` say otherwise), as another process or an earlier run would leave it."""
    values = {
        "id": ident,
        "event_id": event_id,
        "service": service,
        "event_key": event_key,
        "scheduled_for": due,
        "status": "pending",
        "next_attempt_at": due,
        "created_at": due,
        "updated_at": due,
        **columns,
    }
    async with engine.begin() as connection:
        await connection.execute(insert(deliveries).values(**values))


async def rows(engine: AsyncEngine, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(table).where(*where))
        return [dict(row._mapping) for row in result]


async def deliveries_of(engine: AsyncEngine, event_id: int) -> list[dict[str, Any]]:
    found = await rows(engine, deliveries, deliveries.c.event_id == event_id)
    return sorted(found, key=lambda row: row["scheduled_for"])


async def attempts_of(engine: AsyncEngine, delivery_id: str) -> list[dict[str, Any]]:
    found = await rows(engine, delivery_attempts, delivery_attempts.c.delivery_id == delivery_id)
    return sorted(found, key=lambda row: row["attempt"])


async def event_row(engine: AsyncEngine, event_id: int) -> dict[str, Any]:
    (row,) = await rows(engine, events, events.c.id == event_id)
    return row


@dataclass
class Received:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes
    at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


#: A scripted reply: (status, headers, body).
Reply = tuple[int, dict[str, str], str]


@dataclass
class Sink:
    """A real HTTP target on 127.0.0.1 that records every request.

    ``script[path]`` lists replies to give in order; after it runs out, 200 "ok".
    """

    received: list[Received] = field(default_factory=list)
    script: dict[str, list[Reply]] = field(default_factory=dict)
    #: Seconds to hold each request to a path before answering.
    delays: dict[str, float] = field(default_factory=dict)
    port: int = 0
    runner: web.AppRunner | None = None
    #: The loopback address to listen on (127.0.0.2 stands for "another host").
    host: str = "127.0.0.1"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def on(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path_qs.split("?")[0] == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(
            Received(request.method, request.path_qs, dict(request.headers), body, utcnow())
        )
        if delay := self.delays.get(request.path):
            await asyncio.sleep(delay)
        replies = self.script.get(request.path)
        if replies:
            status, headers, text = replies.pop(0)
            return web.Response(status=status, headers=headers, text=text)
        return web.Response(status=200, text="ok")

    async def start(self, configure: Callable[[web.Application], None] | None = None) -> Sink:
        app = web.Application()
        if configure is not None:
            configure(app)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
