"""The relay of every dispatch queue: ready deliveries from the table onto the queue.

In one transaction it locks a batch of ready rows (``FOR UPDATE SKIP LOCKED``, so several
relays share the work), hands their ids to the queue (a ``Publisher``: Redis Streams, SQS)
and stamps ``published_at`` on those the queue took. If the queue is unreachable the
publisher raises its outage error, the transaction rolls back and the rows wait. A row is
published again when a new attempt became due after its last publication (a retry, a
redrive), or when it stayed unclaimed for ``republish_after`` (the queue lost it):
duplicates are harmless, since dispatchers claim each delivery in the table with a
conditional update.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy.exc import SQLAlchemyError

from onewatch.clock import Clock
from onewatch.ports import Store

if TYPE_CHECKING:
    from onewatch.runtime import Runtime

log = structlog.get_logger(__name__)


class Publisher(Protocol):
    """Puts delivery ids on one queue.

    ``publish`` returns the ids the queue accepted (the relay stamps only those; the rest
    wait for the next pass) and raises its queue's outage error, within a bounded time,
    when it cannot tell: the relay then stamps nothing.
    """

    async def publish(self, ids: Sequence[str]) -> Collection[str]: ...


class QueueRelay:
    """Publishes ready deliveries through a ``Publisher``; see the module docstring."""

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        clock: Clock,
        *,
        batch_size: int = 500,
        republish_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._republish_after = republish_after

    async def publish_ready(self) -> int:
        """Publish every delivery that needs it; returns how many. Raises the queue's
        outage error (having stamped nothing of that batch) when it cannot be reached."""
        total = 0
        while True:
            locked, published = await self._publish_batch()
            total += published
            if locked < self._batch_size or published < locked:
                return total

    async def _publish_batch(self) -> tuple[int, int]:
        """How many rows were locked, and how many of them the queue took."""
        taken: set[str] = set()

        async def append(ids: list[str]) -> Collection[str]:
            taken.update(await self._publisher.publish(ids))
            return taken

        locked = await self._store.publish_ready(
            self._clock.now(),
            republish_after=self._republish_after,
            limit=self._batch_size,
            append=append,
        )
        return locked, len(taken)

    async def next_attempt_after(self, now: datetime) -> datetime | None:
        """The earliest attempt still in the future: when the relay has work next."""
        return await self._store.next_ready_attempt_after(now)


async def wait_for_work(runtime: Runtime, relay: QueueRelay, poll_seconds: float) -> None:
    """Until the node's ``dispatch_wakeup`` (deliveries became ready), the next retry
    falls due, or ``poll_seconds`` pass (another node's changes, a queue back up)."""
    now = runtime.clock.now()
    seconds = poll_seconds
    with contextlib.suppress(SQLAlchemyError, OSError):
        upcoming = await relay.next_attempt_after(now)
        if upcoming is not None:
            seconds = min(seconds, max(0.0, (upcoming - now).total_seconds()))
    await runtime.dispatch_wakeup.wait(seconds)


async def relay_until_stopped(
    runtime: Runtime,
    relay: QueueRelay,
    stop: asyncio.Event,
    *,
    poll_seconds: float,
    outage: tuple[type[BaseException], ...],
) -> None:
    """Publish, wait for work, again, until ``stop``; an ``outage`` of the queue (or of
    the store) is logged and the deliveries wait in the table for the next pass."""
    waits: tuple[type[BaseException], ...] = (*outage, SQLAlchemyError, OSError)
    while not stop.is_set():
        try:
            await relay.publish_ready()
        except waits as exc:
            log.warning("relay could not publish; deliveries wait", error=str(exc))
        await wait_for_work(runtime, relay, poll_seconds)
