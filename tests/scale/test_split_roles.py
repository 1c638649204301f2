"""``onewatch serve --roles``: an API-only node and a firing-only node on one PostgreSQL
database. An event created through the API node fires from the other node, and
``GET /v1/nodes`` shows both nodes, their roles and, after SIGTERM, their clean stop."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from onewatch.security.tokens import mint_token
from onewatch.store import open_store
from tests.api.samples import event, webhook_action
from tests.engine.processes import worker_env
from tests.engine.support import Sink, settings_for, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEADLINE = 60.0
SECRET = secrets.token_urlsafe(48)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


async def serve(roles: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "onewatch", "serve", "--roles", roles, "--port", "0",
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def listening_on(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    async with asyncio.timeout(DEADLINE):
        while line := (await process.stdout.readline()).decode():
            seen.append(line)
            if match := re.search(r"running on (http://127\.0\.0\.1:\d+)", line):
                return match.group(1)
    raise AssertionError("the API node exited: " + "".join(seen))


async def stop(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(DEADLINE):
        if process.stdout is not None:
            await process.stdout.read()
        return await process.wait()


async def test_an_api_node_and_a_firing_node_share_the_work_and_report_themselves(
    postgres_database_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, database_url=postgres_database_url)
    env = worker_env(settings, ONEWATCH_JWT_SECRET=SECRET, ONEWATCH_LOG_FORMAT="console")
    env.pop("ONEWATCH_ROLES")
    api = await serve("api", env, tmp_path)
    base = await listening_on(api)  # migrated by now: the other node finds the tables
    firing = await serve("scheduler,dispatcher", env, tmp_path)
    admin = {"Authorization": f"Bearer {mint_token(SECRET, 'ops', admin=True)}"}
    service = {"Authorization": f"Bearer {mint_token(SECRET, 'billing', admin=False)}"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=DEADLINE) as http:
            hook = webhook_action(webhook={"endpoint": f"{sink.base}/fired", "method": "POST"})
            assert (await http.post("/v1/actions", json=hook, headers=service)).is_success
            due = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
            one_shot = event(key="once", schedulingPattern={"pattern": due, "timezone": "UTC"})
            assert (await http.post("/v1/events", json=one_shot, headers=service)).is_success
            await wait_for(lambda: len(sink.on("/fired")) == 1, seconds=30, what="the fire")

            async def both_listed() -> bool:
                response = await http.get("/v1/nodes", headers=admin)
                return len(response.json()["items"]) == 2

            await wait_for(both_listed, seconds=30, what="both nodes in GET /v1/nodes")
            items = (await http.get("/v1/nodes", headers=admin)).json()["items"]
    finally:
        codes = [await stop(firing), await stop(api)]
    assert sorted(tuple(item["roles"]) for item in items) == [
        ("api",),
        ("scheduler", "dispatcher"),
    ]
    assert {item["status"] for item in items} == {"alive"}
    assert {item["pid"] for item in items} == {api.pid, firing.pid}
    assert codes == [0, 0]
    store = open_store(postgres_database_url)
    try:
        assert all(node.stopped_at is not None for node in await store.list_nodes())
    finally:
        await store.dispose()
