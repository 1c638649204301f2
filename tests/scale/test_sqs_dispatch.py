"""Nodes in SQS mode end to end: scheduler, relay and dispatcher in one runtime firing
into a real HTTP sink through moto's SQS (in server mode, over HTTP): a burst sent once
each with every message deleted, an SQS unreachable when the node starts, and a clean
stop handing its unsent deliveries back at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.moto_server import MotoServer
from bench.sink import SinkProcess
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.roles import background_roles
from onewatch.queue.sqs import SqsQueue
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.schema import deliveries
from tests.engine.support import Sink, add_event, settings_for, utcnow
from tests.scale.cluster import insert_one_shots, received_per_id, start_sink, statuses
from tests.scale.deliveries import count_unpublished
from tests.scale.sqs_queues import messages_left, queue_name, sqs_queue
from tests.support.waiting import wait_for

BURST = 2000
#: The burst falls due over this span. moto's SQS scans every message of a queue for each
#: one sent (real SQS does not), so the test keeps its queue short: due over a few
#: seconds, and a sink that answers at once, so each message is deleted soon.
BURST_SPREAD = timedelta(seconds=4)


@pytest.fixture
def quick_sink(tmp_path: Path) -> Iterator[SinkProcess]:
    process = start_sink(tmp_path / "quick-sink.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def queue(moto_endpoint: str) -> AsyncIterator[SqsQueue]:
    async with sqs_queue(queue_name()) as made:
        yield made


def sqs_settings(tmp_path: Path, store_url: str, name: str, **overrides: Any) -> Settings:
    return settings_for(
        tmp_path,
        database_url=store_url,
        queue_url=f"sqs://{name}",
        queue_sqs_wait_seconds=1,
        dispatcher_shutdown_grace_seconds=0.3,
        **overrides,
    )


async def started(settings: Settings) -> Runtime:
    """A node on its own store object (its own wake-ups), as a separate process has."""
    runtime = Runtime(settings=settings, store=open_store(settings.resolved_database_url))
    await runtime.start(background_roles())
    return runtime


async def delivery_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.execute(select(deliveries.c.id))).scalars())


async def all_succeeded(engine: AsyncEngine, count: int) -> bool:
    return await statuses(engine) == {"succeeded": count}


@pytest.mark.slow
async def test_a_burst_through_sqs_reaches_the_sink_once_each(
    store_url: str,
    store_engine: AsyncEngine,
    queue: SqsQueue,
    quick_sink: SinkProcess,
    tmp_path: Path,
) -> None:
    sink = quick_sink
    assert queue.address.name is not None
    runtime = await started(sqs_settings(tmp_path, store_url, queue.address.name))
    try:
        first_due = utcnow() + timedelta(seconds=2)
        await insert_one_shots(store_engine, BURST, first_due, BURST_SPREAD, sink.url("/burst"))
        runtime.wakeup.notify()
        await wait_for(
            lambda: all_succeeded(store_engine, BURST),
            seconds=150,
            every=0.2,
            what=f"{BURST} deliveries to succeed",
        )

        async def queue_empty() -> bool:
            return await messages_left(queue) == 0

        await wait_for(queue_empty, seconds=20, every=0.2, what="every message deleted")
    finally:
        await runtime.stop()
    per_id = await received_per_id(sink, "/burst")
    assert set(per_id) == await delivery_ids(store_engine)
    assert len(per_id) == BURST, "every delivery arrived"
    assert max(per_id.values()) == 1, "none twice"
    assert await count_unpublished(store_engine) == 0, "each one went through SQS"


async def test_with_sqs_unreachable_at_start_deliveries_wait_then_all_arrive(
    store_url: str,
    store_engine: AsyncEngine,
    moto_server: MotoServer,
    sink: SinkProcess,
    tmp_path: Path,
) -> None:
    name = queue_name()
    moto_server.stop()
    runtime = await started(sqs_settings(tmp_path, store_url, name))
    try:
        due = utcnow() + timedelta(milliseconds=300)
        await insert_one_shots(store_engine, 40, due, timedelta(milliseconds=200), sink.url("/w"))
        runtime.wakeup.notify()

        async def overdue_in_the_table() -> bool:
            if utcnow() < due + timedelta(seconds=1):
                return False  # the last one is due at ``due`` + 200 ms
            found = await statuses(store_engine)
            return found == {"pending": 40} and await count_unpublished(store_engine) == 40

        await wait_for(overdue_in_the_table, seconds=20, what="40 overdue deliveries waiting")
        moto_server.start()
        async with sqs_queue(name):  # created now: until then GetQueueUrl failed too
            await wait_for(
                lambda: all_succeeded(store_engine, 40), seconds=60, every=0.2, what="all 40"
            )
    finally:
        await runtime.stop()
    per_id = await received_per_id(sink, "/w")
    assert len(per_id) == 40 and max(per_id.values()) == 1


@pytest.fixture
async def held_sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_clean_stop_hands_back_unsent_deliveries_through_sqs_at_once(
    store_url: str, store_engine: AsyncEngine, queue: SqsQueue, held_sink: Sink, tmp_path: Path
) -> None:
    assert queue.address.name is not None
    settings = sqs_settings(tmp_path, store_url, queue.address.name)
    first = await started(settings)
    held_sink.delays["/stuck"] = 30.0
    try:
        due = (utcnow() + timedelta(milliseconds=300)).isoformat()
        for index in range(3):
            await add_event(
                store_engine,
                key=f"stuck-{index}",
                pattern=due,
                target_type="webhook",
                target={"endpoint": f"{held_sink.base}/stuck"},
            )
        first.wakeup.notify()
        await wait_for(lambda: len(held_sink.on("/stuck")) == 3, seconds=20, what="3 in flight")
    finally:
        await first.stop()  # the requests are cut off after the grace period

    assert await statuses(store_engine) == {"pending": 3}, "released, not lost"
    assert await count_unpublished(store_engine) == 3, "handed back to the relays"
    assert await messages_left(queue) == 0, "their messages deleted, not left to show again"
    held_sink.delays.clear()
    second = await started(settings)
    try:
        # Well inside the 60 s after which an unclaimed delivery would be republished.
        await wait_for(lambda: all_succeeded(store_engine, 3), seconds=15, what="all 3 sent")
    finally:
        await second.stop()
    per_id = Counter(request.headers["webhook-id"] for request in held_sink.on("/stuck"))
    assert set(per_id.values()) == {2}, "cut off once, sent again with the same webhook-id"
