"""Calls in flight per service and target host, counted before a connection is taken.

aiohttp's ``limit_per_host`` is one limit for the whole node: when one service's target
hangs, its requests take every connection to that host and every other service calling
the same host queues behind them, late by as long as the hang (BENCHMARKS.md,
"Fairness: a hanging host"). So the connector gets no per-host limit, and this bounds
the calls each *service* has in flight to each host (``ONEWATCH_DISPATCHER_PER_HOST_LIMIT``)
before the request reaches the pool: a hanging target holds its own service's share of
the host, never another's, and every service still shares one pool of kept-alive
connections. The counting is ``keyed_slots.KeyedSlots``, as the per-service quota's is.
"""

from __future__ import annotations

from yarl import URL

from onewatch.keyed_slots import KeyedSlots

#: (service, scheme, host, port): what one share of a host is counted under.
SlotKey = tuple[str, str, str, int | None]


class NoFreeHostSlot(Exception):
    """The service's calls to this host stayed at the limit for the whole wait."""


def slot_key(service: str, url: str) -> SlotKey:
    """The share ``url`` is counted under: its origin as aiohttp's pool keys it."""
    try:
        parsed = URL(url)
        return (service, parsed.scheme, parsed.host or url, parsed.port)
    except ValueError:
        return (service, "", url, None)  # not a URL: the send fails and says why


class HostSlots(KeyedSlots[SlotKey]):
    """At most ``limit`` calls in flight per (service, host); 0 means unlimited."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, self._no_free_slot)

    def _no_free_slot(self, key: SlotKey, wait: float | None) -> Exception:
        service, _scheme, host, port = key
        return NoFreeHostSlot(
            f"no connection slot to {host}:{port} within {wait} s: service {service!r}"
            f" has {self.limit} calls in flight there (ONEWATCH_DISPATCHER_PER_HOST_LIMIT)"
        )
