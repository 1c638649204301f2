"""The Redis Streams dispatch queue, with the deliveries table as the truth.

Against the shared Redis (a unique stream per test) and, for outages, a private
redis-server this test kills and restarts. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.queue.redis_streams import (
    DeliveryRelay,
    RedisStreamSource,
    StreamNames,
    redis_client,
    relay_runner,
)
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store.base import SqlStore
from tests.backends.redis_server import RedisServer
from tests.conftest import redis_url
from tests.scale.deliveries import (
    T0,
    ManualClock,
    claim_and_succeed,
    count_by_status,
    count_unpublished,
    insert_deliveries,
    insert_event,
    schedule_retry,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.redis

FAST = timedelta(milliseconds=50)


def unique_names() -> StreamNames:
    return StreamNames(stream=f"onewatch-test:{secrets.token_hex(6)}", group="dispatchers")


@pytest.fixture
async def shared_redis() -> AsyncIterator[tuple[Redis, StreamNames]]:
    client = redis_client(redis_url())
    names = unique_names()
    try:
        yield client, names
    finally:
        await client.delete(names.stream)
        await client.aclose()


def source(
    client: Redis, names: StreamNames, consumer: str, **options: timedelta
) -> RedisStreamSource:
    options.setdefault("block", FAST)
    options.setdefault("outage_pause", FAST)
    return RedisStreamSource(client, consumer, names, **options)


async def collect(stream_source: RedisStreamSource, expected: set[str]) -> set[str]:
    """Read batches until every expected id arrived (10 s at most)."""
    got: set[str] = set()
    async with asyncio.timeout(10):
        while not expected <= got:
            got |= set(await stream_source.next_batch(100))
    return got


async def test_ready_deliveries_are_published_once_and_acknowledged_after_recording(
    store: SqlStore, store_engine: AsyncEngine, shared_redis: tuple[Redis, StreamNames]
) -> None:
    client, names = shared_redis
    event_id = await insert_event(store_engine)
    ready = await insert_deliveries(store_engine, event_id, 30, due=T0)
    await insert_deliveries(store_engine, event_id, 5, due=T0 + timedelta(hours=1))
    await insert_deliveries(store_engine, event_id, 3, due=T0, status="succeeded")
    clock = ManualClock(T0 + timedelta(seconds=1))
    relay = DeliveryRelay(store, client, clock, names)

    assert await relay.publish_ready() == 30
    assert await relay.publish_ready() == 0  # published already, still on the stream

    node = source(client, names, "node-a")
    got = await node.next_batch(100)
    assert sorted(got) == sorted(ready)
    assert (await client.xpending(names.stream, names.group))["pending"] == 30
    assert await claim_and_succeed(store_engine, got, clock.now()) == set(ready)
    await node.done(got)
    assert (await client.xpending(names.stream, names.group))["pending"] == 0
    assert await client.xlen(names.stream) == 0


async def test_a_retry_is_published_again_when_it_falls_due(
    store: SqlStore, store_engine: AsyncEngine, shared_redis: tuple[Redis, StreamNames]
) -> None:
    client, names = shared_redis
    (delivery,) = await insert_deliveries(store_engine, await insert_event(store_engine), 1, T0)
    clock = ManualClock(T0)
    relay = DeliveryRelay(store, client, clock, names)
    node = source(client, names, "node-a")
    assert await relay.publish_ready() == 1
    assert await node.next_batch(10) == [delivery]
    await schedule_retry(store_engine, delivery, at=T0 + timedelta(seconds=10))
    await node.done([delivery])

    clock.advance(timedelta(seconds=9))
    assert await relay.publish_ready() == 0
    assert await relay.next_attempt_after(clock.now()) == T0 + timedelta(seconds=10)
    clock.advance(timedelta(seconds=1))
    assert await relay.publish_ready() == 1
    assert await collect(node, {delivery}) == {delivery}


async def test_entries_of_a_dead_consumer_are_reclaimed_by_another(
    store: SqlStore, store_engine: AsyncEngine, shared_redis: tuple[Redis, StreamNames]
) -> None:
    client, names = shared_redis
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 10, T0)
    clock = ManualClock(T0)
    await DeliveryRelay(store, client, clock, names).publish_ready()
    dead = source(client, names, "node-a")
    taken = await dead.next_batch(10)
    assert sorted(taken) == sorted(ids)  # node-a dies here, never acknowledging

    survivor = source(client, names, "node-b", claim_idle=timedelta(milliseconds=100))
    reclaimed = await collect(survivor, set(ids))
    assert reclaimed == set(ids)
    assert await claim_and_succeed(store_engine, reclaimed, clock.now()) == set(ids)
    await survivor.done(sorted(reclaimed))
    assert (await client.xpending(names.stream, names.group))["pending"] == 0


async def test_entries_lost_by_redis_are_published_again_after_the_timeout(
    store: SqlStore, store_engine: AsyncEngine, shared_redis: tuple[Redis, StreamNames]
) -> None:
    client, names = shared_redis
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 5, T0)
    clock = ManualClock(T0)
    relay = DeliveryRelay(store, client, clock, names, republish_after=timedelta(minutes=1))
    node = source(client, names, "node-a")
    assert await node.next_batch(10) == []  # creates the group
    assert await relay.publish_ready() == 5
    await client.delete(names.stream)  # Redis loses the stream and its group

    assert await node.next_batch(10) == []
    assert await relay.publish_ready() == 0  # maybe still on their way: not yet
    clock.advance(timedelta(minutes=1, seconds=1))
    assert await relay.publish_ready() == 5
    assert await collect(node, set(ids)) == set(ids)


async def test_a_redis_restart_loses_no_delivery(
    store: SqlStore, store_engine: AsyncEngine, own_redis: RedisServer
) -> None:
    client = redis_client(own_redis.url)
    names = unique_names()
    try:
        await _restart_scenario(store, client, names, own_redis)
    finally:
        await client.aclose()


async def _restart_scenario(
    store: SqlStore, client: Redis, names: StreamNames, server: RedisServer
) -> None:
    engine = store.engine
    event_id = await insert_event(engine)
    first = await insert_deliveries(engine, event_id, 40, T0)
    clock = ManualClock(T0)
    relay = DeliveryRelay(store, client, clock, names, republish_after=timedelta(minutes=1))
    node = source(client, names, "node-a")
    assert await relay.publish_ready() == 40
    finished = await node.next_batch(15)
    assert await claim_and_succeed(engine, finished, clock.now()) == set(finished)
    await node.done(finished)
    in_flight = await node.next_batch(10)
    assert len(in_flight) == 10

    server.kill()
    later = await insert_deliveries(engine, event_id, 10, T0)
    with pytest.raises(RedisError):
        await relay.publish_ready()
    assert await count_unpublished(engine) == 10  # nothing stamped: they wait
    assert await node.next_batch(10) == []  # the outage reaches no caller
    server.start()  # empty: every entry and the group are gone

    assert await claim_and_succeed(engine, in_flight, clock.now()) == set(in_flight)
    await node.done(in_flight)
    clock.advance(timedelta(minutes=2))
    assert await relay.publish_ready() == 25  # 15 lost ones and the 10 new ones
    rest = (set(first) | set(later)) - set(finished) - set(in_flight)
    got = await collect(node, rest)
    assert await claim_and_succeed(engine, got, clock.now()) == rest
    assert await count_by_status(engine) == {"succeeded": 50}


async def _all_published(engine: AsyncEngine) -> bool:
    # The relay stamps after XADD, in the same transaction: readers may be faster.
    return await count_unpublished(engine) == 0


async def test_the_relay_role_publishes_on_wake_up_and_rides_out_an_outage(
    store: SqlStore, store_engine: AsyncEngine, own_redis: RedisServer, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, queue_url=own_redis.url)
    runtime = Runtime(settings=settings, store=store)
    names = unique_names()
    client = redis_client(own_redis.url)
    node = source(client, names, "node-a")
    stop = asyncio.Event()
    task = asyncio.create_task(relay_runner(names, poll_seconds=0.05)(runtime, stop))
    try:
        event_id = await insert_event(store_engine)
        first = await insert_deliveries(store_engine, event_id, 10, T0)
        runtime.dispatch_wakeup.notify()
        assert await collect(node, set(first)) == set(first)

        own_redis.kill()
        second = await insert_deliveries(store_engine, event_id, 5, T0)
        runtime.dispatch_wakeup.notify()
        own_redis.start()
        assert await collect(node, set(second)) == set(second)
        await wait_for(lambda: _all_published(store_engine))
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.aclose()


async def test_relays_on_several_nodes_publish_each_delivery_once(
    store: SqlStore, store_engine: AsyncEngine, shared_redis: tuple[Redis, StreamNames]
) -> None:
    if store_engine.dialect.name != "postgresql":
        pytest.skip("several relays at once is the PostgreSQL set-up (SKIP LOCKED)")
    client, names = shared_redis
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 120, T0)
    relays = [DeliveryRelay(store, client, ManualClock(T0), names, batch_size=7) for _ in range(3)]
    counts = await asyncio.gather(*(relay.publish_ready() for relay in relays))
    assert sum(counts) == 120
    assert await client.xlen(names.stream) == 120
    assert await collect(source(client, names, "node-a"), set(ids)) == set(ids)
