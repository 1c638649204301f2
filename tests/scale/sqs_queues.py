"""SQS queues on the test's moto server, reached by the real client (``queue.sqs``)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

from onewatch.queue.sqs import SqsQueue, SqsQueueSource, parse_queue_url, sqs_client


def queue_name() -> str:
    return f"onewatch-test-{secrets.token_hex(4)}"


@contextlib.asynccontextmanager
async def sqs_queue(name: str, *, create: bool = True) -> AsyncIterator[SqsQueue]:
    """The queue ``sqs://name`` on the server of ``AWS_ENDPOINT_URL``, made first."""
    address = parse_queue_url(f"sqs://{name}")
    async with sqs_client(address, wait_seconds=1) as client:
        if create:
            await client.create_queue(QueueName=name)
        yield SqsQueue(client, address)


async def create_queue(queue: SqsQueue) -> None:
    assert queue.address.name is not None
    await queue.client.create_queue(QueueName=queue.address.name)


async def messages_left(queue: SqsQueue) -> int:
    """Messages on the queue, visible or held by a consumer."""
    reply = await queue.client.get_queue_attributes(
        QueueUrl=await queue.url(),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )
    return sum(int(value) for value in reply.get("Attributes", {}).values())


def consumer(queue: SqsQueue, *, visibility: int = 30) -> SqsQueueSource:
    return SqsQueueSource(
        queue,
        wait_seconds=1,
        visibility_timeout_seconds=visibility,
        outage_pause=timedelta(milliseconds=50),
    )


async def collect(source: SqsQueueSource, expected: set[str], seconds: float = 15) -> set[str]:
    """Receive until every expected id arrived (within ``seconds``)."""
    got: set[str] = set()
    async with asyncio.timeout(seconds):
        while not expected <= got:
            got |= set(await source.next_batch(100))
    return got
