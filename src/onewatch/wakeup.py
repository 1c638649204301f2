"""The in-process wake-up: one ``asyncio.Event`` between the API and the roles of a node.

A SQLite store's node has only itself to wake, so its two channels (events changed,
deliveries ready) are each one of these; a PostgreSQL store carries them across nodes
over LISTEN/NOTIFY (``store.postgres.wakeup``) instead.
"""

from __future__ import annotations

import asyncio
from datetime import datetime


class LocalWakeUp:
    """In-process wake-up signal between the API and the scheduler.

    A change due no sooner than what the waiter sleeps for (``wait``'s ``earliest``) is
    dropped, whether it comes during the wait or before it: either way the waiter wakes
    in time for it and reads the store again then.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        #: Whether a notify came since the last wait consumed them, and the soonest due
        #: among those (None: unknown, so any waiter must look).
        self._notified = False
        self._soonest: datetime | None = None
        #: What each current waiter sleeps for (None: nothing known).
        self._waiting: list[datetime | None] = []

    def notify(self, due: datetime | None = None) -> None:
        if not self._notified:
            self._notified, self._soonest = True, due
        elif due is None or self._soonest is None:
            self._soonest = None
        else:
            self._soonest = min(self._soonest, due)
        if not self._waiting or any(_moves(due, known) for known in self._waiting):
            self._event.set()

    async def wait(self, seconds: float, earliest: datetime | None = None) -> bool:
        if self._notified:
            woken = _moves(self._soonest, earliest)
            self._consume()
            if woken:
                return True
        self._waiting.append(earliest)
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting.remove(earliest)
        self._consume()
        return True

    def _consume(self) -> None:
        self._notified, self._soonest = False, None
        self._event.clear()


def _moves(due: datetime | None, earliest: datetime | None) -> bool:
    """Whether a change due at ``due`` can bring forward an alarm set for ``earliest``."""
    return due is None or earliest is None or due < earliest
