"""Wake-ups between two nodes (two hubs, two connections) over LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from onewatch.store import open_store
from onewatch.store.postgres.engine import libpq_url
from onewatch.store.postgres.wakeup import (
    DELIVERIES_CHANNEL,
    EVENTS_CHANNEL,
    PgWakeUpHub,
    notify_in_transaction,
    wakeup_hub_for,
)
from onewatch.wakeup import LocalWakeUp
from tests.support.waiting import wait_for

pytestmark = pytest.mark.postgres


async def started_hub(url: str, **options: float) -> PgWakeUpHub:
    hub = wakeup_hub_for(url, **options)
    await hub.start()
    return hub


def test_sqlite_keeps_the_in_process_wakeup(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    assert all(isinstance(channel, LocalWakeUp) for channel in store.wakeups())


@pytest.fixture
async def two_nodes(postgres_database_url: str) -> AsyncIterator[tuple[PgWakeUpHub, PgWakeUpHub]]:
    a = await started_hub(postgres_database_url)
    b = await started_hub(postgres_database_url)
    try:
        await wait_for(lambda: _both_connected(a, b))
        # Connecting wakes every channel once (missed notifications): start clean.
        for hub in (a, b):
            for name in (EVENTS_CHANNEL, DELIVERIES_CHANNEL):
                await hub.channel(name).wait(0)
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _both_connected(a: PgWakeUpHub, b: PgWakeUpHub) -> bool:
    return a.connected and b.connected


async def test_a_notify_wakes_this_node_at_once_and_the_other_node_on_that_channel(
    two_nodes: tuple[PgWakeUpHub, PgWakeUpHub],
) -> None:
    a, b = two_nodes
    a.channel(EVENTS_CHANNEL).notify()
    assert await a.channel(EVENTS_CHANNEL).wait(0)
    assert await b.channel(EVENTS_CHANNEL).wait(10)
    assert not await b.channel(DELIVERIES_CHANNEL).wait(0)
    # B's NOTIFY reaches A after A's own would have (commit order): A ignored its echo.
    b.channel(DELIVERIES_CHANNEL).notify()
    assert await a.channel(DELIVERIES_CHANNEL).wait(10)
    assert not await a.channel(EVENTS_CHANNEL).wait(0)


async def test_a_burst_of_notifies_is_one_notify(
    two_nodes: tuple[PgWakeUpHub, PgWakeUpHub],
) -> None:
    a, b = two_nodes
    for _ in range(1000):
        a.channel(EVENTS_CHANNEL).notify()
    assert await b.channel(EVENTS_CHANNEL).wait(10)
    await wait_for(lambda: _has_sent(a, 1))
    # One more from A: it reaches B after everything A sent before it (session order).
    a.channel(DELIVERIES_CHANNEL).notify()
    assert await b.channel(DELIVERIES_CHANNEL).wait(10)
    await wait_for(lambda: _has_sent(a, 2))  # B may hear it before A counts it
    assert a.sent == 2
    assert b.received == 2


async def _has_sent(hub: PgWakeUpHub, count: int) -> bool:
    return hub.sent >= count


async def test_the_listener_reconnects_after_its_session_is_killed(
    postgres_database_url: str, two_nodes: tuple[PgWakeUpHub, PgWakeUpHub]
) -> None:
    a, b = two_nodes
    old_pid = a.backend_pid
    admin = await asyncpg.connect(libpq_url(postgres_database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    finally:
        await admin.close()

    async def reconnected() -> bool:
        return a.connected and a.backend_pid not in (None, old_pid)

    await wait_for(reconnected)
    # It may have missed notifications while away, so it woke its roles up.
    assert await a.channel(EVENTS_CHANNEL).wait(0)
    b.channel(EVENTS_CHANNEL).notify()
    assert await a.channel(EVENTS_CHANNEL).wait(10)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_without_a_server_waits_fall_back_to_a_bounded_poll() -> None:
    hub = await started_hub(
        f"postgresql://nobody@127.0.0.1:{_closed_port()}/nothing", poll_seconds=0.05
    )
    try:
        events = hub.channel(EVENTS_CHANNEL)
        async with asyncio.timeout(10):
            assert not await events.wait(3600)  # returns after the poll bound, not an hour
        events.notify()  # never blocks, even with no connection
        assert await events.wait(0)
        assert not hub.connected
    finally:
        await hub.close()


async def test_a_notify_in_a_transaction_is_sent_only_when_it_commits(
    postgres_database_url: str, two_nodes: tuple[PgWakeUpHub, PgWakeUpHub]
) -> None:
    _, b = two_nodes
    store = open_store(postgres_database_url)
    engine = store.engine
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await notify_in_transaction(connection, EVENTS_CHANNEL)
            await transaction.rollback()
        async with engine.begin() as connection:
            await notify_in_transaction(connection, DELIVERIES_CHANNEL)
    finally:
        await store.dispose()
    assert await b.channel(DELIVERIES_CHANNEL).wait(10)
    # Notifications arrive in commit order: a rolled-back one would have come first.
    assert b.received == 1
    assert not await b.channel(EVENTS_CHANNEL).wait(0)
