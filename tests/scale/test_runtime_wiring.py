"""A node's runtime on each store: cross-node wake-ups on PostgreSQL, in-process ones on
SQLite, and the heartbeat on every node whatever its roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from onewatch.runtime import LocalWakeUp, Runtime
from onewatch.settings import Settings
from onewatch.store.postgres import PostgresStore
from onewatch.store.postgres.wakeup import PgWakeUpHub
from tests.support.waiting import wait_for


def node_settings(url: str, tmp_path: Path, roles: list[str]) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, roles=roles)  # type: ignore[arg-type]


def _hub(runtime: Runtime) -> PgWakeUpHub | None:
    store = runtime.store
    return store.wakeup_hub if isinstance(store, PostgresStore) else None


async def _connected(*runtimes: Runtime) -> bool:
    return all((hub := _hub(r)) is not None and hub.connected for r in runtimes)


async def _settle(runtime: Runtime) -> None:
    # (Re)connecting wakes every channel once, since notifications may have been missed.
    await runtime.wakeup.wait(0)
    await runtime.dispatch_wakeup.wait(0)


@pytest.mark.postgres
async def test_on_postgresql_a_wakeup_on_one_node_wakes_the_other(
    postgres_database_url: str, tmp_path: Path
) -> None:
    api = Runtime.from_settings(node_settings(postgres_database_url, tmp_path, ["api"]))
    worker = Runtime.from_settings(
        node_settings(postgres_database_url, tmp_path, ["scheduler", "dispatcher"])
    )
    assert isinstance(_hub(api), PgWakeUpHub)
    await api.start({})
    await worker.start({})
    try:
        await wait_for(lambda: _connected(api, worker))
        for runtime in (api, worker):
            await _settle(runtime)
        api.wakeup.notify()  # an event changed through the API-only node
        assert await worker.wakeup.wait(10)
        assert not await worker.dispatch_wakeup.wait(0), "only the events channel"
        worker.dispatch_wakeup.notify()  # deliveries became ready on the worker
        assert await api.dispatch_wakeup.wait(10)

        async def both_reported() -> bool:
            return len(await api.store.list_nodes()) == 2

        await wait_for(both_reported)
        roles = {node.id: node.roles for node in await api.store.list_nodes()}
        assert roles == {api.node_id: ("api",), worker.node_id: ("scheduler", "dispatcher")}
    finally:
        await worker.stop()
        await api.stop()
    hub = _hub(api)
    assert hub is not None and not hub.connected


async def test_on_sqlite_the_node_keeps_in_process_wakeups_and_reports_itself(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'onewatch.db'}"
    runtime = Runtime.from_settings(node_settings(url, tmp_path, ["api"]))
    assert _hub(runtime) is None
    assert isinstance(runtime.wakeup, LocalWakeUp)
    await runtime.start({})
    try:

        async def registered() -> bool:
            return [node.id for node in await runtime.store.list_nodes()] == [runtime.node_id]

        await wait_for(registered)
    finally:
        await runtime.stop()
    check = Runtime.from_settings(node_settings(url, tmp_path, ["api"]))
    try:
        (node,) = await check.store.list_nodes()
        assert node.stopped_at is not None, "a clean stop is recorded"
    finally:
        await check.stop()
