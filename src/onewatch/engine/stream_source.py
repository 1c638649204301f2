"""Queue mode: the dispatcher's deliveries come through a Redis stream.

With ``ONEWATCH_QUEUE_URL`` set, each dispatcher node reads delivery ids through the
consumer group (``queue.redis_streams.RedisStreamSource``, named after the node) and
leases them in the store with ``claim_by_ids``; the store stays the truth. An id the
store refuses (sent already, leased by another node, not due yet) is acknowledged at
once; a claimed one is acknowledged once its result is recorded (``settled``), so a node
that dies leaves its entries pending for ``XAUTOCLAIM`` (after the take-over time,
``node_takeover_seconds``, by default), and once its heartbeat is that old maintenance
takes its leases over and the relay republishes them. A node that stops cleanly gives
back what it did not send (the dispatcher releases the rows) and marks those
unpublished, so another node's relay publishes them at once. The relay itself runs
beside each dispatcher (``roles.run_dispatcher``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from onewatch.ports import Store
from onewatch.queue.redis_streams import (
    RedisStreamSource,
    redis_client,
    relay_runner,
)
from onewatch.runtime import Runtime
from onewatch.store.records import ClaimedDelivery

log = structlog.get_logger("onewatch.dispatcher")


class StreamSource:
    """``engine.sources.DeliverySource`` over a Redis stream's consumer group."""

    #: ``claim`` blocks briefly on the stream itself, so the dispatcher does not sleep.
    waits_for_work = True

    def __init__(
        self,
        store: Store,
        stream: RedisStreamSource,
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
        """Acknowledge in the background: the recorder must not wait on Redis."""
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
        are taken over (XAUTOCLAIM)."""
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


def run_queue_relay(runtime: Runtime, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    """The relay feeding the stream (``queue.redis_streams``), with the node's settings."""
    republish = timedelta(seconds=runtime.settings.queue_republish_seconds)
    return relay_runner(republish_after=republish)(runtime, stop)


@contextlib.asynccontextmanager
async def stream_source(runtime: Runtime) -> AsyncIterator[StreamSource]:
    """This node's consumer on ``settings.queue_url``, closed with its client."""
    settings = runtime.settings
    if not settings.queue_url:
        raise ValueError("stream_source needs settings.queue_url")
    client = redis_client(settings.queue_url)
    source = StreamSource(
        runtime.store,
        RedisStreamSource(
            client,
            runtime.node_id,
            claim_idle=timedelta(seconds=settings.resolved_queue_claim_idle_seconds),
        ),
        lookahead_seconds=settings.dispatcher_lookahead_seconds,
        lease_seconds=settings.dispatcher_lease_seconds,
        holder=runtime.node_id,
    )
    log.info("dispatching through the Redis stream", consumer=runtime.node_id)
    try:
        yield source
    finally:
        await source.close()
        await client.aclose()
        runtime.dispatch_wakeup.notify()  # other nodes' relays: deliveries were given back
