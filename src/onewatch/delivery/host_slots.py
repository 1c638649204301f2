"""Calls in flight per service and target host, counted before a connection is taken.

aiohttp's ``limit_per_host`` is one limit for the whole node: when one service's target
hangs, its requests take every connection to that host and every other service calling
the same host queues behind them, late by as long as the hang (BENCHMARKS.md,
"Fairness: a hanging host"). So the connector gets no per-host limit, and this bounds the calls each
*service* has in flight to each host (``ONEWATCH_DISPATCHER_PER_HOST_LIMIT``) before the
request reaches the pool: a hanging target holds its own service's share of the host,
never another's, and every service still shares one pool of kept-alive connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from yarl import URL

#: (service, scheme, host, port): what one share of a host is counted under.
SlotKey = tuple[str, str, str, int | None]


class NoFreeHostSlot(Exception):
    """The service's calls to this host stayed at the limit for the whole wait."""


@dataclass
class _Share:
    semaphore: asyncio.Semaphore
    #: Holders and waiters: the share is dropped when none is left, so the table stays
    #: as small as the set of (service, host) pairs with calls in flight.
    users: int = 0


def slot_key(service: str, url: str) -> SlotKey:
    """The share ``url`` is counted under: its origin as aiohttp's pool keys it."""
    try:
        parsed = URL(url)
        return (service, parsed.scheme, parsed.host or url, parsed.port)
    except ValueError:
        return (service, "", url, None)  # not a URL: the send fails and says why


class HostSlots:
    """At most ``limit`` calls in flight per (service, host); 0 means unlimited."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._shares: dict[SlotKey, _Share] = {}

    @asynccontextmanager
    async def slot(self, key: SlotKey, *, wait: float | None) -> AsyncIterator[None]:
        """Hold one call of ``key``'s share; ``NoFreeHostSlot`` if none frees in ``wait``."""
        if self.limit <= 0:
            yield
            return
        share = self._shares.setdefault(key, _Share(asyncio.Semaphore(self.limit)))
        share.users += 1
        try:
            await self._acquire(key, share, wait)
            try:
                yield
            finally:
                share.semaphore.release()
        finally:
            share.users -= 1
            if share.users == 0:
                del self._shares[key]

    async def _acquire(self, key: SlotKey, share: _Share, wait: float | None) -> None:
        try:
            async with asyncio.timeout(wait):
                await share.semaphore.acquire()
        except TimeoutError as exc:
            service, _scheme, host, port = key
            raise NoFreeHostSlot(
                f"no connection slot to {host}:{port} within {wait} s: service {service!r}"
                f" has {self.limit} calls in flight there (ONEWATCH_DISPATCHER_PER_HOST_LIMIT)"
            ) from exc
