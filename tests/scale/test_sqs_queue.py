"""The SQS dispatch queue (``queue.sqs``) against moto in server mode, the deliveries
table as the truth: publication, deletion after recording, a refused id deleted at once,
visibility kept while held and lost with its holder, outages and a server that lost
every queue. Each test that touches the store runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from bench.moto_server import MotoServer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.stream_source import StreamSource
from onewatch.errors import ConfigurationError
from onewatch.queue.relay import QueueRelay
from onewatch.queue.sqs import (
    SqsPublisher,
    SqsQueue,
    SqsQueueAddress,
    SqsQueueSource,
    SqsUnavailable,
    parse_queue_url,
    sqs_client,
)
from onewatch.settings import Settings
from onewatch.store.base import SqlStore
from tests.scale.deliveries import (
    T0,
    ManualClock,
    claim_and_succeed,
    count_by_status,
    count_unpublished,
    insert_deliveries,
    insert_event,
)
from tests.scale.sqs_queues import (
    collect,
    consumer,
    create_queue,
    messages_left,
    queue_name,
    sqs_queue,
)


@pytest.fixture
async def queue(moto_endpoint: str) -> AsyncIterator[SqsQueue]:
    async with sqs_queue(queue_name()) as made:
        yield made


def relay(store: SqlStore, queue: SqsQueue, clock: ManualClock) -> QueueRelay:
    return QueueRelay(store, SqsPublisher(queue), clock, republish_after=timedelta(minutes=1))


async def test_ready_deliveries_are_published_once_and_deleted_after_recording(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue
) -> None:
    event_id = await insert_event(store_engine)
    ready = await insert_deliveries(store_engine, event_id, 30, due=T0)
    await insert_deliveries(store_engine, event_id, 5, due=T0 + timedelta(hours=1))
    await insert_deliveries(store_engine, event_id, 3, due=T0, status="succeeded")
    clock = ManualClock(T0 + timedelta(seconds=1))
    publishing = relay(store, queue, clock)

    assert await publishing.publish_ready() == 30
    assert await publishing.publish_ready() == 0  # published already, still on the queue
    assert await count_unpublished(store_engine) == 5 + 3

    node = consumer(queue)
    try:
        got = await collect(node, set(ready))
        assert got == set(ready)
        assert await messages_left(queue) == 30, "held, not deleted, until recorded"
        assert await claim_and_succeed(store_engine, got, clock.now()) == set(ready)
        await node.done(sorted(got))
        assert await messages_left(queue) == 0
    finally:
        await node.close()


async def test_an_id_the_store_refuses_is_deleted_at_once(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue
) -> None:
    (ident,) = await insert_deliveries(store_engine, await insert_event(store_engine), 1, T0)
    clock = ManualClock(T0)
    assert await relay(store, queue, clock).publish_ready() == 1
    assert await claim_and_succeed(store_engine, [ident], clock.now()) == {ident}
    sqs_node = consumer(queue)
    node = StreamSource(store, sqs_node, lookahead_seconds=1.0, lease_seconds=30)
    try:
        async with asyncio.timeout(10):
            while await messages_left(queue):
                assert await node.claim(now=clock.now(), limit=10) == [], "sent already"
    finally:
        await node.close()
        await sqs_node.close()


async def test_a_held_message_stays_hidden_and_shows_again_once_its_holder_is_gone(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue
) -> None:
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 3, T0)
    assert await relay(store, queue, ManualClock(T0)).publish_ready() == 3
    holder, other = consumer(queue, visibility=1), consumer(queue, visibility=1)
    try:
        assert await collect(holder, set(ids)) == set(ids)
        # Three visibility timeouts long, the holder's extensions keep them hidden.
        until = asyncio.get_running_loop().time() + 3
        while asyncio.get_running_loop().time() < until:
            assert await other.next_batch(10) == []
        await holder.close()  # dies: no more extensions, nothing deleted
        assert await collect(other, set(ids)) == set(ids)
        await other.done(ids)
        assert await messages_left(queue) == 0
    finally:
        await holder.close()
        await other.close()


async def test_a_message_held_past_the_longest_hold_shows_again(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue
) -> None:
    (ident,) = await insert_deliveries(store_engine, await insert_event(store_engine), 1, T0)
    assert await relay(store, queue, ManualClock(T0)).publish_ready() == 1
    # Never settled (a hand-back that could not reach the store): not hidden for ever.
    holder = SqsQueueSource(
        queue, wait_seconds=1, visibility_timeout_seconds=1, max_hold=timedelta(seconds=2)
    )
    other = consumer(queue, visibility=30)
    try:
        assert await collect(holder, {ident}) == {ident}
        assert await collect(other, {ident}) == {ident}
    finally:
        await holder.close()
        await other.close()


async def test_with_sqs_unreachable_deliveries_wait_and_are_published_when_it_is_back(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue, moto_server: MotoServer
) -> None:
    event_id = await insert_event(store_engine)
    publishing = relay(store, queue, ManualClock(T0))
    node = consumer(queue)
    try:
        assert await node.next_batch(10) == []
        moto_server.stop()
        ids = await insert_deliveries(store_engine, event_id, 25, T0)
        with pytest.raises(SqsUnavailable):
            await publishing.publish_ready()
        assert await count_unpublished(store_engine) == 25, "nothing stamped: they wait"
        async with asyncio.timeout(30):  # bounded: the outage reaches no caller
            assert await node.next_batch(10) == []
            await node.done(["not-held"])
        moto_server.start()  # empty: the queue is made again, as an operator would
        await create_queue(queue)
        assert await publishing.publish_ready() == 25
        assert await collect(node, set(ids)) == set(ids)
    finally:
        await node.close()


async def test_a_queue_lost_by_a_server_restarted_empty_is_found_again(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue, moto_server: MotoServer
) -> None:
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 12, T0)
    clock = ManualClock(T0)
    publishing = relay(store, queue, clock)
    node = consumer(queue)
    try:
        assert await publishing.publish_ready() == 12
        moto_server.restart_empty()  # the queue and its messages are gone
        assert await node.next_batch(10) == []
        await create_queue(queue)  # as an operator or IaC would
        assert await publishing.publish_ready() == 0  # maybe still on their way: not yet
        clock.advance(timedelta(minutes=1, seconds=1))
        assert await publishing.publish_ready() == 12
        got = await collect(node, set(ids))
        assert await claim_and_succeed(store_engine, got, clock.now()) == set(ids)
        await node.done(sorted(got))
        assert await count_by_status(store_engine) == {"succeeded": 12}
    finally:
        await node.close()


async def test_a_full_queue_url_on_a_custom_endpoint_needs_no_endpoint_setting(
    store: SqlStore, store_engine: AsyncEngine, queue: SqsQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_url = await queue.url()
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    address = parse_queue_url(full_url)
    assert address.endpoint_url is not None and full_url.startswith(address.endpoint_url)
    ids = await insert_deliveries(store_engine, await insert_event(store_engine), 4, T0)
    async with sqs_client(address, wait_seconds=1) as client:
        by_url = SqsQueue(client, address)
        assert await relay(store, by_url, ManualClock(T0)).publish_ready() == 4
        node = consumer(by_url)
        try:
            assert await collect(node, set(ids)) == set(ids)
        finally:
            await node.close()


@pytest.mark.parametrize(
    ("queue_url", "expected"),
    [
        ("sqs://onewatch-deliveries", SqsQueueAddress(name="onewatch-deliveries")),
        (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries",
            SqsQueueAddress(
                url="https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries",
                region="eu-west-1",
            ),
        ),
        (
            "http://127.0.0.1:4566/000000000000/deliveries",
            SqsQueueAddress(
                url="http://127.0.0.1:4566/000000000000/deliveries",
                endpoint_url="http://127.0.0.1:4566",
            ),
        ),
    ],
)
def test_queue_urls_name_the_queue_its_region_or_its_endpoint(
    queue_url: str, expected: SqsQueueAddress
) -> None:
    assert parse_queue_url(queue_url) == expected


@pytest.mark.parametrize(
    ("queue_url", "reason"),
    [
        ("sqs://", "needs a queue name"),
        ("sqs://a/b", "needs a queue name"),
        ("sqs://orders.fifo", "standard queue"),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/", "no queue name"),
        ("ftp://example.com/q", "use sqs://"),
    ],
)
def test_a_queue_url_that_cannot_work_is_refused_naming_the_setting(
    queue_url: str, reason: str
) -> None:
    with pytest.raises(ConfigurationError, match=reason) as raised:
        parse_queue_url(queue_url)
    assert raised.value.field == "queue_url"


def test_settings_refuse_an_sqs_queue_url_that_cannot_work_when_they_load(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match="standard queue") as raised:
        Settings(data_dir=tmp_path, queue_url="sqs://orders.fifo")
    assert raised.value.errors()[0]["loc"] == ("queue_url",)
    assert Settings(data_dir=tmp_path, queue_url="redis://127.0.0.1:6379/0").queue_url
