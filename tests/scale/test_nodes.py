"""Node identity and liveness on both stores, and ``GET /v1/nodes`` for admins."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import delete

from onewatch.api.app import create_app
from onewatch.engine.heartbeat import heartbeat_runner
from onewatch.errors import Forbidden, Unauthorized
from onewatch.runtime import Runtime
from onewatch.security.tokens import mint_token
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.records import NodeInfo, this_node
from onewatch.store.schema import nodes
from tests.support.waiting import wait_for

SECRET = secrets.token_urlsafe(48)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def runtime_on(store: SqlStore, tmp_path: Path) -> Runtime:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(SECRET), roles=["scheduler", "dispatcher"]
    )
    return Runtime(settings=settings, store=store)


async def one_node(store: SqlStore, node_id: str) -> NodeInfo | None:
    return next((node for node in await store.list_nodes() if node.id == node_id), None)


async def test_heartbeat_registers_beats_and_marks_stopped(store: SqlStore, tmp_path: Path) -> None:
    runtime = runtime_on(store, tmp_path)
    stop = asyncio.Event()
    runner = heartbeat_runner(interval=timedelta(milliseconds=20))
    task = asyncio.create_task(runner(runtime, stop))

    async def has_beaten() -> bool:
        node = await one_node(store, runtime.node_id)
        return node is not None and node.heartbeat_at > node.started_at

    await wait_for(has_beaten)
    node = await one_node(store, runtime.node_id)
    assert node is not None
    assert node.roles == ("scheduler", "dispatcher")
    assert node.status(runtime.clock.now()) == "alive"
    assert node.status(node.heartbeat_at + timedelta(minutes=5)) == "stale"
    stop.set()
    await asyncio.wait_for(task, 10)
    node = await one_node(store, runtime.node_id)
    assert node is not None and node.stopped_at is not None
    assert node.status(runtime.clock.now()) == "stopped"


async def test_a_pruned_node_registers_again_on_its_next_beat(
    store: SqlStore, tmp_path: Path
) -> None:
    runtime = runtime_on(store, tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(heartbeat_runner(timedelta(milliseconds=20))(runtime, stop))
    try:
        await wait_for(lambda: _exists(store, runtime.node_id))
        async with store.engine.begin() as connection:
            await connection.execute(delete(nodes).where(nodes.c.id == runtime.node_id))
        await wait_for(lambda: _exists(store, runtime.node_id))
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _exists(store: SqlStore, node_id: str) -> bool:
    return await one_node(store, node_id) is not None


async def test_prune_removes_only_long_silent_nodes(store: SqlStore) -> None:
    await store.register_node(this_node("old", ["api"], T0))
    await store.register_node(this_node("fresh", ["api"], T0 + timedelta(days=2)))
    removed = await store.prune_nodes(T0 + timedelta(days=2, hours=1), timedelta(days=1))
    assert removed == 1
    assert [node.id for node in await store.list_nodes()] == ["fresh"]


@pytest.fixture
async def api_client(store: SqlStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime_on(store, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://onewatch") as client:
        yield client


def bearer(service: str, *, admin: bool) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, service, admin=admin)}"}


async def test_admins_list_nodes_with_roles_and_status(
    api_client: httpx.AsyncClient, store: SqlStore
) -> None:
    now = datetime.now(UTC)
    await store.register_node(this_node("n1", ["api", "scheduler"], now))
    await store.register_node(this_node("n2", ["dispatcher"], now - timedelta(hours=1)))
    response = await api_client.get("/v1/nodes", headers=bearer("ops", admin=True))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(item["id"], item["status"]) for item in items] == [("n2", "stale"), ("n1", "alive")]
    assert items[1]["roles"] == ["api", "scheduler"]
    assert {"hostname", "pid", "version", "startedAt", "heartbeatAt", "stoppedAt"} <= set(items[1])


async def test_non_admins_may_not_list_nodes(api_client: httpx.AsyncClient) -> None:
    # Before the API's error handlers exist the error escapes as itself; after, a 403.
    try:
        response = await api_client.get("/v1/nodes", headers=bearer("billing", admin=False))
    except Forbidden:
        return
    assert response.status_code == 403


async def test_anonymous_callers_may_not_list_nodes(api_client: httpx.AsyncClient) -> None:
    try:
        response = await api_client.get("/v1/nodes")
    except Unauthorized:
        return
    assert response.status_code == 401


async def test_a_node_registers_once_its_store_becomes_usable(
    blank_store_url: str, tmp_path: Path
) -> None:
    store = open_store(blank_store_url)  # no tables yet: every report fails
    runtime = runtime_on(store, tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(heartbeat_runner(timedelta(milliseconds=20))(runtime, stop))
    try:
        await store.migrate()
        await wait_for(lambda: _exists(store, runtime.node_id))
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.dispose()


def test_the_takeover_time_must_outlast_two_heartbeats(tmp_path: Path) -> None:
    # Nearer than that, one late beat (a stalled event loop) hands a live node's work away.
    with pytest.raises(ValidationError, match="at least twice node_heartbeat_seconds"):
        Settings(data_dir=tmp_path, node_heartbeat_seconds=2.0, node_takeover_seconds=3.0)
    fine = Settings(data_dir=tmp_path, node_heartbeat_seconds=2.0, node_takeover_seconds=4.0)
    assert fine.resolved_queue_claim_idle_seconds == 4.0, "stream entries follow the take-over"
    explicit = Settings(data_dir=tmp_path, queue_claim_idle_seconds=30.0)
    assert explicit.resolved_queue_claim_idle_seconds == 30.0


async def test_the_default_heartbeat_keeps_its_node_alive_for_the_takeover(
    store: SqlStore, tmp_path: Path
) -> None:
    """The heartbeat runner follows the node's settings (once a second by default)."""
    runtime = runtime_on(store, tmp_path)
    runtime.settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        node_heartbeat_seconds=0.05,
        node_takeover_seconds=0.5,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(heartbeat_runner()(runtime, stop))
    seen: set[datetime] = set()

    async def beat_three_times() -> bool:
        node = await one_node(store, runtime.node_id)
        if node is not None:
            seen.add(node.heartbeat_at)
        return len(seen) >= 3

    try:
        await wait_for(beat_three_times, seconds=10, what="three heartbeats")
    finally:
        stop.set()
        await task
