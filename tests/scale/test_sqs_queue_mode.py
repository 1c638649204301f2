"""SQS mode end to end, short of HTTP: the relay, three SQS consumers standing in for
dispatchers, one of them dying mid-batch (its task ends, its messages neither deleted
nor extended), and the moto server restarted empty mid-run (the queue made again).

Every delivery ends ``succeeded`` and reaches the sink exactly once, or exactly twice if
it was in flight on the consumer that died. ``test_sqs_dispatch.py`` runs real nodes.

The claims' lease (never renewed here) is seconds long, and the restart runs in a
thread: with a lease shorter than a loaded machine's pauses, or the event loop frozen
by a blocking restart, a live consumer lost its claim and another sent its delivery
again, which is the test's timing and not the queue's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from bench.moto_server import MotoServer
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import SystemClock
from onewatch.queue.sqs import SqsQueue, SqsQueueSource, relay_runner
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store.base import SqlStore
from tests.scale.deliveries import (
    count_by_status,
    insert_deliveries,
    insert_event,
)
from tests.scale.dying_consumers import Sink, dispatch
from tests.scale.sqs_queues import consumer, create_queue, queue_name, sqs_queue
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(240)
TOTAL = 300
#: Longer than any pause of a live consumer between its claim and its record, even on a
#: loaded machine; the dead consumer's claims come back once it lapses.
LEASE = timedelta(seconds=5)


async def dispatch_then_close(
    engine: AsyncEngine, source: SqsQueueSource, sink: Sink, *, die_after: int | None
) -> None:
    try:
        await dispatch(engine, source, sink, die_after=die_after, lease=LEASE)
    finally:
        await source.close()  # no SQS call: the messages it held are simply let go


@pytest.fixture
async def queue(moto_endpoint: str) -> AsyncIterator[SqsQueue]:
    async with sqs_queue(queue_name()) as made:
        yield made


async def _succeeded(engine: AsyncEngine, at_least: int) -> bool:
    return (await count_by_status(engine)).get("succeeded", 0) >= at_least


async def test_no_delivery_is_lost_to_a_dead_consumer_or_an_sqs_restart(
    store: SqlStore,
    store_engine: AsyncEngine,
    queue: SqsQueue,
    moto_server: MotoServer,
    tmp_path: Path,
) -> None:
    runtime = Runtime(
        settings=Settings(data_dir=tmp_path, queue_url=f"sqs://{queue.address.name}"),
        store=store,
    )
    ids = await insert_deliveries(
        store_engine, await insert_event(store_engine), TOTAL, SystemClock().now()
    )
    sink = Sink()
    stop = asyncio.Event()
    relay = relay_runner(poll_seconds=0.05, republish_after=timedelta(milliseconds=500))
    tasks = [asyncio.create_task(relay(runtime, stop))]
    tasks += [
        asyncio.create_task(
            dispatch_then_close(store_engine, consumer(queue, visibility=1), sink, die_after=die)
        )
        for die in [2, None, None]
    ]
    try:
        await wait_for(lambda: _succeeded(store_engine, TOTAL // 2), seconds=90)
        sink.open.clear()  # hold the consumers, so the restart is mid-run for sure
        # The queue and every message are gone. In a thread: the restart blocks (a
        # SIGKILL, then a wait for the new server) and the consumers' loop must not.
        await asyncio.to_thread(moto_server.restart_empty)
        assert not await _succeeded(store_engine, TOTAL)
        ids += await insert_deliveries(
            store_engine, await insert_event(store_engine, "later"), 50, SystemClock().now()
        )
        await create_queue(queue)
        sink.open.set()
        await wait_for(lambda: _succeeded(store_engine, TOTAL + 50), seconds=90)
    finally:
        stop.set()
        for task in tasks[1:]:
            task.cancel()
        async with asyncio.timeout(30):  # a role that ignores stop or cancel fails here
            await asyncio.gather(*tasks, return_exceptions=True)

    assert await count_by_status(store_engine) == {"succeeded": TOTAL + 50}
    dead = sink.in_flight_on_dead_node
    assert dead, "the dying consumer never took a batch"
    # Exact counts: sent once each, and what the dead one had sent, once more by the
    # consumer that took it over (at least once, and never beyond that).
    expected = Counter({delivery: 2 if delivery in dead else 1 for delivery in ids})
    assert sink.received == expected
