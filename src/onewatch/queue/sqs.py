"""Dispatch over Amazon SQS, with the deliveries table as the truth.

``ONEWATCH_QUEUE_URL`` is ``sqs://<queue-name>`` (resolved with ``GetQueueUrl``) or the
queue's full URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``, or any
``http(s)`` URL on an SQS-compatible endpoint). The client is aiobotocore's, on the
standard AWS credential chain, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and
``AWS_ENDPOINT_URL`` (``AWS_ENDPOINT_URL_SQS``).

Two halves, as with Redis Streams:

- ``SqsPublisher`` is the relay's ``queue.relay.Publisher``: ``SendMessageBatch`` with
  the delivery id as the body; ids SQS refused wait in the table for the next pass.
- ``SqsQueueSource`` is the dispatcher's ``ports.DeliverySource``: it long-polls
  (``ReceiveMessage`` with a bounded ``WaitTimeSeconds``), keeps each message hidden
  (``ChangeMessageVisibility``) for as long as its delivery is held, and deletes it in
  ``done``, once the result is recorded or the store refused the claim. A node that
  dies stops extending: its messages come back after the visibility timeout, and the
  store refuses those already finished, so nothing is sent twice for that.

A standard queue, not a FIFO one: order does not matter (each delivery has its instant)
and FIFO deduplication would swallow the republication of a message SQS lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from onewatch.errors import ConfigurationError
from onewatch.queue.relay import QueueRelay, relay_until_stopped
from onewatch.queue.sqs_address import SqsQueueAddress, parse_queue_url

__all__ = [
    "SqsPublisher",
    "SqsQueue",
    "SqsQueueAddress",
    "SqsQueueSource",
    "SqsUnavailable",
    "parse_queue_url",
    "relay_runner",
    "sqs_client",
    "sqs_source",
]

if TYPE_CHECKING:
    from types_aiobotocore_sqs.client import SQSClient
    from types_aiobotocore_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

    from onewatch.runtime import RoleRunner, Runtime
    from onewatch.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: No SQS call may take longer than this (a long poll adds its wait): the relay holds
#: row locks while it publishes, so a stuck call would stall the dispatchers.
SQS_CALL_TIMEOUT = timedelta(seconds=10)
#: SQS's own limit on the entries of one batch call and the messages of one receive.
MAX_BATCH = 10
#: Batch calls of one publication or deletion in flight at once.
CALLS_IN_FLIGHT = 10
#: Rows per relay transaction: one round of batch calls, so the row locks are held for
#: about one SQS round trip.
RELAY_BATCH_SIZE = MAX_BATCH * CALLS_IN_FLIGHT
#: Error codes saying the queue is not there (deleted, or a server restarted empty).
MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


class SqsUnavailable(Exception):
    """SQS could not be reached, refused the call, or did not answer in time."""


def client_config(wait_seconds: int) -> AioConfig:
    """Bounded connect and read timeouts (a long poll reads for ``wait_seconds``) and
    one retry, within ``SQS_CALL_TIMEOUT`` plus the wait overall; connections for a long
    poll beside a round of batch calls and the deletions settling in the background."""
    return AioConfig(
        connect_timeout=2.0,
        read_timeout=wait_seconds + 4.0,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=2 * CALLS_IN_FLIGHT + 1,
    )


@contextlib.asynccontextmanager
async def sqs_client(address: SqsQueueAddress, *, wait_seconds: int) -> AsyncIterator[SQSClient]:
    """An aiobotocore SQS client for the address, closed on exit. ``AWS_ENDPOINT_URL``
    (read by botocore) wins over a custom URL's origin; ``AWS_REGION`` over the region of
    an AWS URL, which wins over ``AWS_DEFAULT_REGION``."""
    region = os.environ.get("AWS_REGION") or address.region
    endpoint = None if _endpoint_configured() else address.endpoint_url
    config = client_config(wait_seconds)
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(
                get_session().create_client(
                    "sqs", region_name=region, endpoint_url=endpoint, config=config
                )
            )
        except NoRegionError as exc:
            raise ConfigurationError(
                "no AWS region: set AWS_REGION (or use the queue's full URL)", field="queue_url"
            ) from exc
        yield client


def _endpoint_configured() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL"))


def _is_missing_queue(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in MISSING_QUEUE_CODES


class SqsQueue:
    """One queue behind one client: every call bounded in time, every failure an
    ``SqsUnavailable``; the URL resolved on first use, and again after the queue was
    reported missing (a queue created anew keeps its name, not always its URL)."""

    def __init__(self, client: SQSClient, address: SqsQueueAddress) -> None:
        self.client = client
        self.address = address
        self._url = address.url

    async def call(self, work: Awaitable[T], extra: timedelta = timedelta(0)) -> T:
        try:
            async with asyncio.timeout((SQS_CALL_TIMEOUT + extra).total_seconds()):
                return await work
        except ClientError as exc:
            if _is_missing_queue(exc) and self.address.name is not None:
                self._url = None
            raise SqsUnavailable(str(exc)) from exc
        except TimeoutError as exc:
            raise SqsUnavailable("no answer from SQS in time") from exc
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            raise SqsUnavailable(str(exc) or type(exc).__name__) from exc

    async def url(self) -> str:
        if self._url is None:
            assert self.address.name is not None  # a URL address always has its URL
            reply = await self.call(self.client.get_queue_url(QueueName=self.address.name))
            self._url = reply["QueueUrl"]
        return self._url


def chunks(items: Sequence[T], size: int = MAX_BATCH) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def in_parallel(
    calls: Sequence[Callable[[], Awaitable[T]]], *, seconds: float
) -> list[T | SqsUnavailable]:
    """Run the calls, ``CALLS_IN_FLIGHT`` at a time, for ``seconds`` at most: each one's
    result, or its ``SqsUnavailable`` (one still running at the bound is cut off)."""
    slots = asyncio.Semaphore(CALLS_IN_FLIGHT)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with slots:
            return await call()

    tasks = [asyncio.create_task(one(call)) for call in calls]
    try:
        await asyncio.wait(tasks, timeout=seconds)
    finally:
        # Cut off at the bound, or this caller cancelled: none is left running unseen.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [_outcome(task) for task in tasks]


def _outcome(task: asyncio.Task[T]) -> T | SqsUnavailable:
    if task.cancelled():
        return SqsUnavailable("no answer from SQS in time")
    error = task.exception()
    if error is None:
        return task.result()
    if isinstance(error, SqsUnavailable):
        return error
    raise error


class SqsPublisher:
    """``queue.relay.Publisher`` onto one SQS queue."""

    def __init__(self, queue: SqsQueue) -> None:
        self._queue = queue

    async def publish(self, ids: Sequence[str]) -> Collection[str]:
        """The ids SQS took; raises ``SqsUnavailable`` only when it took none. The calls
        share one bound (the relay holds its row locks meanwhile), and those that did
        answer in time count: their ids are not sent again on the next pass."""
        url = await self._queue.url()
        calls = [partial(self._send, url, chunk) for chunk in chunks(ids)]
        outcomes = await in_parallel(calls, seconds=SQS_CALL_TIMEOUT.total_seconds())
        accepted = {ident for sent in outcomes if isinstance(sent, list) for ident in sent}
        failures = [error for error in outcomes if isinstance(error, SqsUnavailable)]
        if failures and not accepted:
            raise failures[0]
        return accepted

    async def _send(self, url: str, ids: Sequence[str]) -> list[str]:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "MessageBody": ident} for n, ident in enumerate(ids)
        ]
        reply = await self._queue.call(
            self._queue.client.send_message_batch(QueueUrl=url, Entries=entries)
        )
        for failed in reply.get("Failed", []):
            log.warning("SQS refused a delivery; it waits", error=failed.get("Message"))
        return [ids[int(entry["Id"])] for entry in reply.get("Successful", [])]


@dataclass
class Receipt:
    """One received message of a held delivery, and until when it stays hidden."""

    handle: str
    hidden_until: float
    received_at: float
    #: False once SQS refused to extend it (it became visible and moved on).
    extendable: bool = True


@dataclass
class _Held:
    receipts: dict[str, list[Receipt]] = field(default_factory=dict)

    def all(self) -> list[Receipt]:
        return [receipt for group in self.receipts.values() for receipt in group]


class SqsQueueSource:
    """``ports.DeliverySource`` over one SQS queue; one per dispatcher node.

    ``close`` stops the visibility extension; messages still held then come back to the
    queue after their visibility timeout (a clean stop deletes what it gave back first).
    """

    def __init__(
        self,
        queue: SqsQueue,
        *,
        wait_seconds: int = 2,
        visibility_timeout_seconds: int = 30,
        outage_pause: timedelta = timedelta(milliseconds=500),
        max_hold: timedelta = timedelta(minutes=5),
    ) -> None:
        self._queue = queue
        #: No message is kept hidden longer: one whose delivery was never settled (a
        #: hand-back that could not reach the store) shows again, and the store decides.
        self._max_hold = max_hold.total_seconds()
        self._wait_seconds = wait_seconds
        self._visibility = visibility_timeout_seconds
        self._outage_pause = outage_pause.total_seconds()
        self._held = _Held()
        self._extension: asyncio.Task[None] | None = None

    async def next_batch(self, limit: int) -> list[str]:
        self._keep_extending()
        try:
            return self._remember(await self._receive(limit))
        except SqsUnavailable as exc:
            log.warning("dispatch queue unavailable", error=str(exc))
            await asyncio.sleep(self._outage_pause)
            return []

    async def _receive(self, limit: int) -> list[MessageTypeDef]:
        """One long poll; while a receive comes back full, more at once (no waiting)."""
        url = await self._queue.url()
        last = await self._receive_once(url, min(limit, MAX_BATCH), self._wait_seconds)
        found = list(last)
        while len(last) == MAX_BATCH and len(found) < limit:
            last = await self._receive_once(url, min(limit - len(found), MAX_BATCH), 0)
            found += last
        return found

    async def _receive_once(self, url: str, count: int, wait: int) -> list[MessageTypeDef]:
        reply = await self._queue.call(
            self._queue.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=wait,
                VisibilityTimeout=self._visibility,
            ),
            extra=timedelta(seconds=wait),
        )
        return list(reply.get("Messages", []))

    def _remember(self, messages: list[MessageTypeDef]) -> list[str]:
        now = asyncio.get_running_loop().time()
        hidden_until = now + self._visibility
        ids: list[str] = []
        for message in messages:
            ident, handle = message.get("Body"), message.get("ReceiptHandle")
            if not ident or not handle:
                continue
            if ident not in self._held.receipts:
                ids.append(ident)
            self._held.receipts.setdefault(ident, []).append(
                Receipt(handle, hidden_until, received_at=now)
            )
        return ids

    async def done(self, ids: list[str]) -> None:
        handles = [r.handle for ident in ids for r in self._held.receipts.pop(ident, [])]
        if not handles:
            return
        try:
            url = await self._queue.url()
        except SqsUnavailable as exc:
            self._not_deleted(exc)
            return
        calls = [partial(self._delete, url, chunk) for chunk in chunks(handles)]
        for outcome in await in_parallel(calls, seconds=SQS_CALL_TIMEOUT.total_seconds()):
            if isinstance(outcome, SqsUnavailable):
                self._not_deleted(outcome)

    def _not_deleted(self, error: SqsUnavailable) -> None:
        # The messages come back after their visibility timeout; the store refuses a
        # second claim of a finished delivery, so nothing is sent twice for this.
        log.warning("could not delete SQS messages", error=str(error))

    async def _delete(self, url: str, handles: Sequence[str]) -> None:
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(handles)
        ]
        reply = await self._queue.call(
            self._queue.client.delete_message_batch(QueueUrl=url, Entries=entries)
        )
        if reply.get("Failed"):
            log.warning("SQS kept some messages; they come back", count=len(reply["Failed"]))

    # --- keeping held messages hidden -------------------------------------------------

    def _keep_extending(self) -> None:
        if self._extension is None or self._extension.done():
            self._extension = asyncio.create_task(self._extend_forever(), name="onewatch-sqs")

    @property
    def extend_every(self) -> float:
        """A third of the timeout: two extensions may fail before a message shows."""
        return max(self._visibility / 3, 0.2)

    async def _extend_forever(self) -> None:
        while True:
            await asyncio.sleep(self.extend_every)
            try:
                await self.extend_due()
            except SqsUnavailable as exc:
                log.warning("could not extend SQS visibility", error=str(exc))

    async def extend_due(self) -> int:
        """Extend every held message that would show within two periods; how many."""
        now = asyncio.get_running_loop().time()
        due = [
            receipt
            for receipt in self._held.all()
            if receipt.extendable
            and receipt.hidden_until - now < 2 * self.extend_every
            and now - receipt.received_at < self._max_hold
        ]
        if not due:
            return 0
        url = await self._queue.url()
        calls = [partial(self._extend, url, chunk, now) for chunk in chunks(due)]
        for outcome in await in_parallel(calls, seconds=SQS_CALL_TIMEOUT.total_seconds()):
            if isinstance(outcome, SqsUnavailable):
                log.warning("could not extend SQS visibility", error=str(outcome))
        return len(due)

    async def _extend(self, url: str, receipts: Sequence[Receipt], now: float) -> None:
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": r.handle, "VisibilityTimeout": self._visibility}
            for n, r in enumerate(receipts)
        ]
        reply = await self._queue.call(
            self._queue.client.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        )
        for entry in reply.get("Successful", []):
            receipts[int(entry["Id"])].hidden_until = now + self._visibility
        for entry in reply.get("Failed", []):
            receipts[int(entry["Id"])].extendable = False

    async def close(self) -> None:
        if self._extension is not None:
            self._extension.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._extension
            self._extension = None


def queue_address(settings: Settings) -> SqsQueueAddress:
    if not settings.queue_url:
        raise ConfigurationError("SQS mode needs a queue URL", field="queue_url")
    return parse_queue_url(settings.queue_url)


def longest_hold(settings: Settings) -> float:
    """Longer than a dispatcher holds a delivery: its instant (the look-ahead), a wait
    for its service's slot (half a lease), the request and the recording."""
    held = settings.dispatcher_lookahead_seconds + settings.dispatcher_lease_seconds / 2
    return 2 * (held + settings.http_total_timeout_seconds)


@contextlib.asynccontextmanager
async def sqs_source(settings: Settings) -> AsyncIterator[SqsQueueSource]:
    """This node's consumer of ``settings.queue_url``, closed with its client."""
    address = queue_address(settings)
    async with sqs_client(address, wait_seconds=settings.queue_sqs_wait_seconds) as client:
        source = SqsQueueSource(
            SqsQueue(client, address),
            wait_seconds=settings.queue_sqs_wait_seconds,
            visibility_timeout_seconds=settings.queue_sqs_visibility_timeout_seconds,
            max_hold=timedelta(seconds=longest_hold(settings)),
        )
        try:
            yield source
        finally:
            await source.close()


def relay_runner(
    *, poll_seconds: float = 1.0, republish_after: timedelta = timedelta(seconds=60)
) -> RoleRunner:
    """A role runner publishing ready deliveries to SQS until ``stop``; woken by the
    node's ``dispatch_wakeup`` or when the next retry falls due."""

    async def run_relay(runtime: Runtime, stop: asyncio.Event) -> None:
        address = queue_address(runtime.settings)
        async with sqs_client(address, wait_seconds=0) as client:
            publisher = SqsPublisher(SqsQueue(client, address))
            relay = QueueRelay(
                runtime.store,
                publisher,
                runtime.clock,
                batch_size=RELAY_BATCH_SIZE,
                republish_after=republish_after,
            )
            await relay_until_stopped(
                runtime, relay, stop, poll_seconds=poll_seconds, outage=(SqsUnavailable,)
            )

    return run_relay
