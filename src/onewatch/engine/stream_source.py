"""Queue mode: the dispatcher's deliveries come through a queue (Redis Streams or SQS).

With ``ONEWATCH_QUEUE_URL`` set, each dispatcher node reads delivery ids from the queue
(a ``ports.DeliverySource``: ``queue.redis_streams.RedisStreamSource``, a consumer named
after the node, or ``queue.sqs.SqsQueueSource``) and leases them in the store with
``claim_by_ids``; the store stays the truth. An id the store refuses (sent already,
leased by another node, not due yet) is acknowledged at once; a claimed one is
acknowledged once its result is recorded (``settled``), so a node that dies leaves its
entries to come back (``XAUTOCLAIM`` after the take-over time, ``node_takeover_seconds``,
by default; an SQS message after its visibility timeout), and once its heartbeat is that
old maintenance takes its leases over and the relay republishes them. A node that stops
cleanly gives back what it did not send (the dispatcher releases the rows) and marks
those unpublished, so another node's relay publishes them at once. The relay itself runs
beside each dispatcher (``roles.run_dispatcher``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from onewatch.ports import DeliverySource as QueueSource
from onewatch.ports import Store
from onewatch.queue.sqs_address import SQS_SCHEMES
from onewatch.runtime import Runtime
from onewatch.store.records import ClaimedDelivery

log = structlog.get_logger("onewatch.dispatcher")


class StreamSource:
    """``engine.sources.DeliverySource`` over a dispatch queue's consumer."""

    #: ``claim`` blocks briefly on the stream itself, so the dispatcher does not sleep.
    waits_for_work = True

    def __init__(
        self,
        store: Store,
        stream: QueueSource,
        *,
        lookahead_seconds: float,
        lease_seconds: float,
        holder: str | None = None,
    ) -> None:
        self.store = store
        #: This node's id, written on each lease: other nodes take over when it dies.
        self.holder = holder
        self.stream = stream
        self.lookahead = timedelta(seconds=lookahead_seconds)
        self.lease_seconds = lease_seconds + lookahead_seconds
        self._acks: set[asyncio.Task[None]] = set()
        #: Claimed here and not settled yet: at ``close``, those the dispatcher released.
        self._unsettled: set[str] = set()

    async def claim(
        self, *, now: datetime, limit: int, skip_services: frozenset[str] = frozenset()
    ) -> list[ClaimedDelivery]:
        """The stream's next entries, in its order: ``skip_services`` is not applied here
        (skipping an entry would mean handing it back to the end of the stream)."""
        ids = await self.stream.next_batch(limit)
        if not ids:
            return []
        try:
            claimed = await self.store.claim_by_ids(
                ids,
                now=now,
                horizon=now + self.lookahead,
                lease_seconds=self.lease_seconds,
                holder=self.holder,
            )
        except Exception:
            # Nothing leased: let the entries go; the relay republishes what is still due.
            await self.stream.done(ids)
            raise
        taken = {item.id for item in claimed}
        self._unsettled |= taken
        refused = [ident for ident in ids if ident not in taken]
        if refused:
            await self.stream.done(refused)
        return sorted(claimed, key=lambda item: item.next_attempt_at)

    async def next_ready_at(
        self, *, skip_services: frozenset[str] = frozenset()
    ) -> datetime | None:
        return None

    def settled(self, ids: list[str]) -> None:
        """Acknowledge in the background: the recorder must not wait on the queue."""
        self._unsettled.difference_update(ids)
        self._in_background(self.stream.done(ids))

    def given_back(self, ids: list[str]) -> None:
        """Released unsent: publish again at once (in the background)."""
        self._unsettled.difference_update(ids)
        self._in_background(self._hand_back(ids))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="onewatch-stream-ack")
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _hand_back(self, ids: list[str]) -> None:
        """Mark released deliveries unpublished, so a relay publishes them at once, then
        drop their entries; if the store cannot be reached, the entries stay pending and
        come back (XAUTOCLAIM, or SQS's visibility timeout)."""
        try:
            await self.store.unpublish(ids)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not hand back unsent deliveries", error=str(exc))
            return
        await self.stream.done(ids)

    async def close(self) -> None:
        """Let the acknowledgements in flight finish (each is bounded); hand back what
        was claimed and never settled (released unsent at shutdown)."""
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)
        if self._unsettled:
            await self._hand_back(sorted(self._unsettled))
            self._unsettled.clear()


def is_sqs(queue_url: str) -> bool:
    return queue_url.split("://", 1)[0] in SQS_SCHEMES


def run_queue_relay(runtime: Runtime, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    """The relay feeding the queue (``queue.redis_streams`` or ``queue.sqs``), with the
    node's settings; each queue's client is imported only when it is the one in use."""
    settings = runtime.settings
    republish = timedelta(seconds=settings.queue_republish_seconds)
    if settings.queue_url and is_sqs(settings.queue_url):
        from onewatch.queue import sqs

        return sqs.relay_runner(republish_after=republish)(runtime, stop)
    from onewatch.queue import redis_streams

    return redis_streams.relay_runner(republish_after=republish)(runtime, stop)


@contextlib.asynccontextmanager
async def redis_consumer(runtime: Runtime) -> AsyncIterator[QueueSource]:
    """This node's consumer in the stream's group, closed with its client."""
    from onewatch.queue.redis_streams import RedisStreamSource, redis_client

    settings = runtime.settings
    assert settings.queue_url is not None
    client = redis_client(settings.queue_url)
    try:
        yield RedisStreamSource(
            client,
            runtime.node_id,
            claim_idle=timedelta(seconds=settings.resolved_queue_claim_idle_seconds),
        )
    finally:
        await client.aclose()


def queue_consumer(runtime: Runtime) -> AbstractAsyncContextManager[QueueSource]:
    """The consumer of ``settings.queue_url``: Redis Streams, or SQS."""
    queue_url = runtime.settings.queue_url
    if queue_url and is_sqs(queue_url):
        from onewatch.queue.sqs import sqs_source

        return sqs_source(runtime.settings)
    return redis_consumer(runtime)


@contextlib.asynccontextmanager
async def stream_source(runtime: Runtime) -> AsyncIterator[StreamSource]:
    """This node's source over ``settings.queue_url``, closed with its consumer."""
    settings = runtime.settings
    if not settings.queue_url:
        raise ValueError("stream_source needs settings.queue_url")
    async with queue_consumer(runtime) as consumer:
        source = StreamSource(
            runtime.store,
            consumer,
            lookahead_seconds=settings.dispatcher_lookahead_seconds,
            lease_seconds=settings.dispatcher_lease_seconds,
            holder=runtime.node_id,
        )
        log.info("dispatching through the queue", consumer=runtime.node_id)
        try:
            yield source
        finally:
            await source.close()
    runtime.dispatch_wakeup.notify()  # other nodes' relays: deliveries were given back
