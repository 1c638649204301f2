"""A queue consumer that can die mid-batch, shared by the Redis and SQS queue-mode tests.

Both sources are ``ports.DeliverySource``s, so one loop claims, "sends", records and
settles for either; the tests differ only in the queue they start.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import SystemClock
from onewatch.ports import DeliverySource
from tests.scale.deliveries import claim_with_lease, record_success

#: The lease a claim takes; never renewed here, so a live consumer must record within it.
LEASE = timedelta(milliseconds=300)


class Sink:
    """What the targets saw, and what the consumer that died had in flight."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.in_flight_on_dead_node: set[str] = set()
        #: Consumers take no new batch while this is clear (the test holds them).
        self.open = asyncio.Event()
        self.open.set()


async def dispatch(
    engine: AsyncEngine,
    source: DeliverySource,
    sink: Sink,
    *,
    die_after: int | None,
    lease: timedelta = LEASE,
) -> None:
    """Claim, "send", record, settle; with ``die_after``, die mid-batch that often.

    ``lease`` is never renewed: a live consumer slower than it (a loaded machine) loses
    its claim, and another may send the same delivery again."""
    clock = SystemClock()
    batches = 0
    while True:
        await sink.open.wait()
        ids = await source.next_batch(20)
        if not ids:
            continue
        token, claimed = await claim_with_lease(engine, ids, clock.now(), lease)
        sink.received.update(claimed)
        batches += 1
        if die_after is not None and batches == die_after:
            sink.in_flight_on_dead_node |= claimed
            return  # sent, but neither recorded nor settled
        await record_success(engine, token, clock.now())
        await source.done(ids)
