"""Per-service quotas, so one noisy service cannot starve the others.

* ``check_event_quota``: the API calls it before inserting an event.
* ``RequestRateLimiter``: a token bucket per service (``quota_requests_per_second``
  refill, ``quota_request_burst`` capacity); the API answers 429 with ``Retry-After``
  when it says no (``onewatch.api.rate_limit``).
* ``DeliveryConcurrencyLimiter``: at most ``quota_max_concurrent_deliveries`` requests in
  flight per service; the dispatcher holds a slot around each send.

A zero limit means unlimited. The limiters keep their state in this process: with
several API nodes each one enforces the rate on its own share of the traffic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onewatch.errors import Forbidden
from onewatch.keyed_slots import KeyedSlots
from onewatch.settings import Settings

if TYPE_CHECKING:
    from onewatch.ports import StoreTransaction


class QuotaExceeded(Forbidden):
    """The service is at one of its limits; nothing was stored."""


async def check_event_quota(
    tx: StoreTransaction, service: str, max_events: int, *, adding: int = 1
) -> None:
    """Raise ``QuotaExceeded`` if ``adding`` more live events would pass ``max_events``.

    Call it in the transaction that inserts. Two concurrent inserts can both pass and
    overshoot by one each; the quota is a guard against runaway clients, not a ledger.
    """
    if max_events <= 0:
        return
    live = await tx.count_live_events(service)
    check_live_count(service, live, max_events, adding=adding)


def check_live_count(service: str, live: int, max_events: int, *, adding: int = 1) -> None:
    """``check_event_quota`` for a count already taken (a batch counts once, then adds)."""
    if 0 < max_events < live + adding:
        raise QuotaExceeded(
            f"service {service!r} has {live} active or paused events; the quota is"
            f" {max_events} (ONEWATCH_QUOTA_MAX_EVENTS)",
            field="service",
        )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RequestRateLimiter:
    """A token bucket per service: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestRateLimiter:
        return cls(settings.quota_requests_per_second, settings.quota_request_burst)

    def acquire(self, service: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens (one per request): 0.0 when allowed, else the seconds to wait.

        A cost above the burst (a large batch) passes on a full bucket and leaves it in
        debt, so it is possible at all and the service's average rate still holds.
        """
        if self._rate <= 0:
            return 0.0
        now = self._monotonic()
        bucket = self._buckets.setdefault(service, _Bucket(self._burst, now))
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
        bucket.updated = now
        needed = min(cost, self._burst)
        if bucket.tokens >= needed:
            bucket.tokens -= cost
            return 0.0
        return (needed - bucket.tokens) / self._rate

    @staticmethod
    def retry_after_header(wait_seconds: float) -> str:
        """Retry-After is whole seconds; round up so a client that obeys gets through."""
        return str(max(1, math.ceil(wait_seconds)))


class NoFreeSlot(Exception):
    """No delivery slot of the service freed within the wait: give the delivery back."""


class DeliveryConcurrencyLimiter(KeyedSlots[str]):
    """At most ``limit`` deliveries in flight per service (0: unlimited).

    ``async with limiter.slot(service):`` around one send. Waiting for a slot holds only
    that delivery's task, so deliveries of other services in the same batch go on. The
    wait can be bounded (``wait=``): a leased delivery must not wait past its lease.
    ``saturated()`` names the services with a whole round of deliveries already waiting:
    the dispatcher claims no more of theirs until those move, so a service whose target
    hangs cannot fill the node's held deliveries while others' are due.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(limit, self._no_free_slot)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConcurrencyLimiter:
        return cls(settings.quota_max_concurrent_deliveries)

    def in_flight(self, service: str) -> int:
        return self.holding(service)

    def saturated(self) -> frozenset[str]:
        """Services with at least ``limit`` deliveries waiting for a slot (none if 0)."""
        return frozenset() if self.limit <= 0 else self.waiting_at_least(self.limit)

    def has_free_slot(self, service: str) -> bool:
        """Whether a send for ``service`` would start now (to skip rather than wait)."""
        return self.limit <= 0 or self.in_flight(service) < self.limit

    def _no_free_slot(self, service: str, _wait: float | None) -> Exception:
        return NoFreeSlot(f"service {service!r} has {self.limit} deliveries in flight")
