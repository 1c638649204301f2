"""Batches attempt outcomes into one database transaction at a time.

Sending never waits on the database: finished attempts go into a queue, and one writer
drains everything queued so far into a single ``record_outcomes`` call. After the first
outcome of a batch it lingers a moment (``LINGER_SECONDS``, cut short by a full batch or
``close``) so that a steady stream is written a few times a second rather than once or
twice per delivery: a transaction's CPU cost hardly depends on its size, and one per
delivery was most of the dispatcher's budget (BENCHMARKS.md, "Performance notes"). The
price is that a process killed in that moment re-sends those deliveries after their
lease (same ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from onewatch.clock import Clock
from onewatch.domain.statuses import DeliveryStatus
from onewatch.observability.metrics import Metrics
from onewatch.ports import Store
from onewatch.store.records import Outcome

log = structlog.get_logger("onewatch.dispatcher")

MAX_BATCH = 1000
RETRY_SECONDS = 0.5
#: How long the first outcome of a batch waits for others to join it.
LINGER_SECONDS = 0.05


class Recorder:
    """The single writer of a dispatcher's results."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        on_recorded: Callable[[list[Outcome]], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.on_recorded = on_recorded
        #: Outcomes to write; ``None`` asks the writer to finish (see ``close``).
        self.queue: asyncio.Queue[Outcome | None] = asyncio.Queue()
        #: Set when lingering should stop: a batch is full, or ``close`` was asked.
        self._flush_now = asyncio.Event()

    def put(self, outcome: Outcome) -> None:
        self.queue.put_nowait(outcome)
        if self.queue.qsize() >= MAX_BATCH:
            self._flush_now.set()

    async def _linger(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_SECONDS):
                await self._flush_now.wait()
        self._flush_now.clear()

    def _take_batch(self, first: Outcome) -> tuple[list[Outcome], bool]:
        """Everything queued now (up to a cap), and whether ``close`` was asked."""
        batch = [first]
        while len(batch) < MAX_BATCH and not self.queue.empty():
            item = self.queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _write(self, batch: list[Outcome]) -> None:
        while True:
            try:
                kept = await self.store.record_outcomes(batch, now=self.clock.now())
                break
            except Exception:
                log.exception("recording outcomes failed; retrying", count=len(batch))
                await asyncio.sleep(RETRY_SECONDS)
        self._report(batch, kept)
        self.on_recorded(batch)

    def _report(self, batch: list[Outcome], kept: list[Outcome]) -> None:
        kept_ids = {outcome.delivery_id for outcome in kept}
        for outcome in batch:
            bound = log.bind(delivery_id=outcome.delivery_id, attempt=outcome.attempt)
            if outcome.delivery_id not in kept_ids:
                bound.warning("lease lost before the result was recorded")
                continue
            self.metrics.deliveries.labels(outcome.status).inc()
            # Successes are the bulk: at debug, so a busy node does not pay for them.
            emit = bound.debug if outcome.status == DeliveryStatus.SUCCEEDED else bound.info
            if outcome.status == DeliveryStatus.DEAD:
                emit = bound.warning
            emit(
                "attempt recorded",
                status=outcome.status,
                http_status=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
            )

    async def run(self) -> None:
        """Write batches until ``close``; a batch is never cut off half-written."""
        while True:
            first = await self.queue.get()
            if first is None:
                return
            await self._linger()
            batch, closing = self._take_batch(first)
            await self._write(batch)
            if closing:
                return

    def close(self) -> None:
        """Ask ``run`` to return once everything queued before now is written."""
        self.queue.put_nowait(None)
        self._flush_now.set()
