"""A node in queue mode: its dispatcher takes deliveries from the Redis stream, sends
them, acknowledges the entries once recorded, and on a clean stop hands back what it
did not send so another node sends it at once (not after the republish delay)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import SystemClock
from onewatch.engine.roles import background_roles
from onewatch.engine.stream_source import StreamSource
from onewatch.queue.redis_streams import (
    DeliveryRelay,
    RedisStreamSource,
    StreamNames,
    redis_client,
)
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.schema import deliveries
from tests.backends.redis_server import RedisServer
from tests.engine.support import Sink, add_event, rows, settings_for, utcnow, wait_for
from tests.scale.deliveries import insert_deliveries, insert_event


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


def queue_settings(tmp_path: Path, store_url: str, queue_url: str) -> Settings:
    # The republish and take-over delays stay at their defaults (60 s): nothing in
    # these tests may wait for them.
    return settings_for(
        tmp_path,
        database_url=store_url,
        queue_url=queue_url,
        dispatcher_shutdown_grace_seconds=0.3,
    )


async def started(settings: Settings) -> Runtime:
    """A node on its own store object (its own wake-ups), as a separate process has."""
    runtime = Runtime(settings=settings, store=open_store(settings.resolved_database_url))
    await runtime.start(background_roles())
    return runtime


async def _events(engine: AsyncEngine, sink: Sink, path: str, count: int) -> None:
    due = utcnow() + timedelta(milliseconds=300)
    for index in range(count):
        await add_event(
            engine,
            key=f"{path.strip('/')}-{index}",
            pattern=due.isoformat(),
            target_type="webhook",
            target={"endpoint": f"{sink.base}{path}"},
        )


async def statuses(engine: AsyncEngine) -> Counter[str]:
    return Counter(row["status"] for row in await rows(engine, deliveries))


async def test_stream_dispatch_sends_once_and_acknowledges_every_entry(
    store_url: str, store_engine: AsyncEngine, own_redis: RedisServer, sink: Sink, tmp_path: Path
) -> None:
    runtime = await started(queue_settings(tmp_path, store_url, own_redis.url))
    client = redis_client(own_redis.url)
    names = StreamNames()
    try:
        await _events(store_engine, sink, "/ok", 20)
        runtime.wakeup.notify()

        async def all_succeeded() -> bool:
            return await statuses(store_engine) == {"succeeded": 20}

        await wait_for(all_succeeded, seconds=20, what="every delivery to succeed")

        async def stream_empty() -> bool:
            pending = await client.xpending(names.stream, names.group)
            return int(pending["pending"]) == 0 and int(await client.xlen(names.stream)) == 0

        await wait_for(stream_empty, what="every entry acknowledged and deleted")
    finally:
        await runtime.stop()
        await client.aclose()
    per_id = Counter(request.headers["webhook-id"] for request in sink.on("/ok"))
    assert len(per_id) == 20 and set(per_id.values()) == {1}
    published = [row["published_at"] for row in await rows(store_engine, deliveries)]
    assert all(stamp is not None for stamp in published), "each one went through the stream"


async def test_a_clean_stop_hands_back_unsent_deliveries_to_the_other_nodes(
    store_url: str, store_engine: AsyncEngine, own_redis: RedisServer, sink: Sink, tmp_path: Path
) -> None:
    settings = queue_settings(tmp_path, store_url, own_redis.url)
    first = await started(settings)
    sink.delays["/stuck"] = 30.0
    try:
        await _events(store_engine, sink, "/stuck", 3)
        first.wakeup.notify()
        await wait_for(lambda: len(sink.on("/stuck")) == 3, seconds=20, what="3 in flight")
    finally:
        await first.stop()  # the requests are cut off after the grace period

    found = await rows(store_engine, deliveries)
    assert [row["status"] for row in found] == ["pending"] * 3, "released, not lost"
    assert all(row["published_at"] is None for row in found), "handed back to the relays"

    sink.delays.clear()
    second = await started(settings)
    try:

        async def all_succeeded() -> bool:
            return await statuses(store_engine) == {"succeeded": 3}

        # Well inside the 60 s after which an unclaimed delivery would be republished.
        await wait_for(all_succeeded, seconds=15, what="the other node to send them")
    finally:
        await second.stop()
    per_id = Counter(request.headers["webhook-id"] for request in sink.on("/stuck"))
    assert set(per_id) == {row["id"] for row in found}
    assert set(per_id.values()) == {2}, "cut off once, sent again with the same webhook-id"


async def test_a_delivery_given_back_while_running_is_published_again_at_once(
    store: SqlStore, store_engine: AsyncEngine, own_redis: RedisServer
) -> None:
    clock = SystemClock()
    names = StreamNames(stream="given-back", group="dispatchers")
    client = redis_client(own_redis.url)
    relay = DeliveryRelay(store, client, clock, names)  # republishes after 60 s
    event_id = await insert_event(store_engine)
    (ident,) = await insert_deliveries(store_engine, event_id, 1, clock.now())
    try:
        assert await relay.publish_ready() == 1
        node_a = stream_node(store, client, names, "node-a")
        (claimed,) = await node_a.claim(now=clock.now(), limit=10)
        # Released unsent (a service at its quota, say), then given back to the source.
        await store.release([(claimed.id, claimed.lease_token)], now=clock.now())
        node_a.given_back([ident])
        await node_a.close()
        assert int((await client.xpending(names.stream, names.group))["pending"]) == 0
        assert await relay.publish_ready() == 1, "published again without the 60 s wait"
        node_b = stream_node(store, client, names, "node-b")
        assert [item.id for item in await node_b.claim(now=clock.now(), limit=10)] == [ident]
    finally:
        await client.aclose()


def stream_node(store: SqlStore, client: Redis, names: StreamNames, name: str) -> StreamSource:
    consumer = RedisStreamSource(client, name, names, block=timedelta(milliseconds=50))
    return StreamSource(store, consumer, lookahead_seconds=1.0, lease_seconds=30.0)
