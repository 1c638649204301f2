"""The contracts between Onewatch's parts, with the duties each implementation owes.

Backends (SQLite, PostgreSQL; the deliveries table or Redis Streams) live behind these,
so the scheduler, dispatcher and API never know which one they talk to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class WakeUp(Protocol):
    """Tells the scheduler that events changed, so it re-reads the earliest due time.

    ``notify`` must be cheap and never block the caller (the API calls it after every
    committed event change); ``wait`` returns when notified or when ``seconds`` pass,
    and returns whether it was notified. Across nodes (PostgreSQL) this is carried by
    LISTEN/NOTIFY; in one process by an ``asyncio.Event``.

    ``notify(due)`` says the change made something due at ``due`` (None: anything may
    have changed). ``wait(seconds, earliest)`` says the waiter already knows of something
    due at ``earliest`` and sleeps for it; an implementation may then skip waking it for
    a ``due`` no earlier, made during the wait or before it: that cannot bring its alarm
    forward, and it reads the store again when it wakes (an in-process one does, so a
    stream of creates due later does not rerun the scheduler per create).
    """

    def notify(self, due: datetime | None = None) -> None: ...

    async def wait(self, seconds: float, earliest: datetime | None = None) -> bool: ...


class DeliverySource(Protocol):
    """Where a dispatcher finds candidate deliveries: the table, a Redis stream, SQS.

    ``next_batch`` returns up to ``limit`` delivery ids that may be ready (it may wait a
    short, bounded while for some; an empty list is fine). They are *candidates* only:
    the dispatcher still claims each one in the store with a conditional update and a
    lease, and skips those it cannot claim (done already, claimed by another node,
    duplicates). ``done`` is called for every id ``next_batch`` returned, once its
    result is recorded in the store or once the claim was refused; before that an
    implementation must keep the id recoverable (a stream entry stays pending, and is
    reclaimed if this node dies; an SQS message stays hidden, and shows again). Neither
    raises for a queue outage: the store is the truth, and a lost candidate is found
    again.
    """

    async def next_batch(self, limit: int) -> list[str]: ...

    async def done(self, ids: list[str]) -> None: ...
