"""Queue mode end to end, short of HTTP: a relay, three stream consumers standing in for
dispatchers, one of them dying mid-batch, and the Redis server restarted mid-run.

Every delivery ends ``succeeded``; a delivery reaches the sink twice only if it was in
flight on the consumer that died. ``test_many_nodes.py`` runs the same through real
node processes (scheduler, dispatcher, relay) firing into a sink.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import SystemClock
from onewatch.queue.redis_streams import (
    RedisStreamSource,
    StreamNames,
    redis_client,
    relay_runner,
)
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store.base import SqlStore
from tests.backends.redis_server import RedisServer
from tests.scale.deliveries import (
    count_by_status,
    insert_deliveries,
    insert_event,
)
from tests.scale.dying_consumers import Sink, dispatch
from tests.support.waiting import wait_for

TOTAL = 300


def consumer(client: Redis, names: StreamNames, name: str) -> RedisStreamSource:
    return RedisStreamSource(
        client,
        name,
        names,
        block=timedelta(milliseconds=50),
        claim_idle=timedelta(milliseconds=300),
        outage_pause=timedelta(milliseconds=50),
    )


async def _succeeded(engine: AsyncEngine, at_least: int) -> bool:
    return (await count_by_status(engine)).get("succeeded", 0) >= at_least


async def test_no_delivery_is_lost_to_a_dead_consumer_or_a_redis_restart(
    store: SqlStore, store_engine: AsyncEngine, own_redis: RedisServer, tmp_path: Path
) -> None:
    names = StreamNames(stream=f"onewatch-test:{secrets.token_hex(6)}", group="dispatchers")
    runtime = Runtime(settings=Settings(data_dir=tmp_path, queue_url=own_redis.url), store=store)
    ids = await insert_deliveries(
        store_engine, await insert_event(store_engine), TOTAL, SystemClock().now()
    )
    client = redis_client(own_redis.url)
    sink = Sink()
    stop = asyncio.Event()
    relay = relay_runner(names, poll_seconds=0.05, republish_after=timedelta(milliseconds=500))
    tasks = [asyncio.create_task(relay(runtime, stop))]
    tasks += [
        asyncio.create_task(
            dispatch(store_engine, consumer(client, names, f"node-{n}"), sink, die_after=die)
        )
        for n, die in enumerate([2, None, None])
    ]
    try:
        await wait_for(lambda: _succeeded(store_engine, TOTAL // 2), seconds=30)
        sink.open.clear()  # hold the consumers, so the restart is mid-run for sure
        own_redis.kill()
        assert not await _succeeded(store_engine, TOTAL)
        ids += await insert_deliveries(
            store_engine, await insert_event(store_engine, "later"), 50, SystemClock().now()
        )
        own_redis.start()  # empty: stream, group and pending entries are gone
        sink.open.set()
        await wait_for(lambda: _succeeded(store_engine, TOTAL + 50), seconds=30)
    finally:
        stop.set()
        for task in tasks[1:]:
            task.cancel()
        async with asyncio.timeout(20):  # a role that ignores stop or cancel fails here
            await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    assert await count_by_status(store_engine) == {"succeeded": TOTAL + 50}
    assert set(sink.received) == set(ids)
    twice = {delivery for delivery, n in sink.received.items() if n > 1}
    assert sink.in_flight_on_dead_node, "the dying consumer never took a batch"
    assert twice <= sink.in_flight_on_dead_node
