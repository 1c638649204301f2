"""At most N holders per key, counted in this process: the one limiter behind the
dispatcher's per-service quota (``security.quotas``) and its per-(service, host) share
(``delivery.host_slots``).

Both need the same three things: a semaphore per key that exists only while the key has
holders or waiters (so the table stays as small as the set of keys in use, however many
services and hosts come and go), a bounded wait (a leased delivery must not wait past
its lease), and counts of holders and waiters (the dispatcher skips services whose
whole quota is already waiting).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass
class _Share:
    semaphore: asyncio.Semaphore
    holding: int = 0
    waiting: int = 0


class KeyedSlots(Generic[Key]):
    """At most ``limit`` holders per key at once; 0 means unlimited.

    ``refused(key, wait)`` builds the exception raised when no slot of ``key`` frees
    within the wait, so each user says in its own words which limit was hit.
    """

    def __init__(self, limit: int, refused: Callable[[Key, float | None], Exception]) -> None:
        self.limit = limit
        self._refused = refused
        self._shares: dict[Key, _Share] = {}

    def holding(self, key: Key) -> int:
        share = self._shares.get(key)
        return share.holding if share else 0

    def keys_in_use(self) -> int:
        """How many keys have holders or waiters (the others keep no state)."""
        return len(self._shares)

    def waiting_at_least(self, count: int) -> frozenset[Key]:
        """The keys with ``count`` or more waiters."""
        return frozenset(key for key, share in self._shares.items() if share.waiting >= count)

    @asynccontextmanager
    async def slot(self, key: Key, *, wait: float | None = None) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots, waiting at most ``wait`` seconds for it."""
        if self.limit <= 0:
            yield
            return
        share = self._shares.setdefault(key, _Share(asyncio.Semaphore(self.limit)))
        share.waiting += 1
        try:
            acquired = await self._acquire(share, wait)
        finally:
            share.waiting -= 1
        try:
            if not acquired:
                raise self._refused(key, wait)
            share.holding += 1
            try:
                yield
            finally:
                share.holding -= 1
                share.semaphore.release()
        finally:
            if share.holding == 0 and share.waiting == 0:
                self._shares.pop(key, None)

    @staticmethod
    async def _acquire(share: _Share, wait: float | None) -> bool:
        try:
            async with asyncio.timeout(wait):
                await share.semaphore.acquire()
        except TimeoutError:
            return False
        return True
