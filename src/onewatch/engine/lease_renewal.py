"""Keeping the leases of held deliveries alive for as long as the dispatcher holds them.

A claim leases a delivery for ``dispatcher_lease_seconds`` (plus the look-ahead). A node
holding thousands of deliveries under a backlog, a delivery waiting for its service's
concurrency slot, or a slow target can outlive that; maintenance (on any node) would then
reclaim the row and another dispatcher would send it too. So every third of a lease the
dispatcher extends everything it holds, in one conditional update
(``store.deliveries.extend_leases``). A delivery whose lease is no longer its own (the
node stalled for longer than a lease and another one claimed it) is reported to
``on_lost``: the dispatcher drops it unsent, or, when the request is already out, leaves
the result to the recorder, whose conditional update refuses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from onewatch.clock import Clock
from onewatch.engine.outage import report_step_failure
from onewatch.engine.waiting import first_of
from onewatch.ports import Store
from onewatch.store.records import ClaimedDelivery

log = structlog.get_logger("onewatch.dispatcher")

#: A floor on the renewal period, so a tiny lease (tests) cannot turn it into a busy loop.
MIN_INTERVAL_SECONDS = 0.05


def renew_interval(lease_seconds: float) -> float:
    """A third of the lease: two renewals can fail in a row before the lease runs out."""
    return max(lease_seconds / 3, MIN_INTERVAL_SECONDS)


class LeaseRenewer:
    """Extends the leases of whatever ``held()`` returns, every ``renew_interval``."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        lease_seconds: float,
        held: Callable[[], Mapping[str, ClaimedDelivery]],
        on_lost: Callable[[dict[str, str]], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.held = held
        #: Told (id -> the token renewed in vain) of deliveries no longer leased to us.
        self.on_lost = on_lost

    async def renew_once(self) -> int:
        """Extend every held lease now; returns how many turned out to be lost."""
        snapshot = {ident: item.lease_token for ident, item in self.held().items()}
        if not snapshot:
            return 0
        kept = await self.store.extend_leases(
            snapshot, now=self.clock.now(), lease_seconds=self.lease_seconds
        )
        lost = {ident: token for ident, token in snapshot.items() if ident not in kept}
        if lost:
            self.on_lost(lost)
        return len(lost)

    async def run(self, done: asyncio.Event) -> None:
        """Renew until ``done`` (set once the dispatcher has drained, not at ``stop``:
        requests finishing within the shutdown grace still need their leases)."""
        interval = renew_interval(self.lease_seconds)
        while not done.is_set():
            await first_of(done.wait(), seconds=interval)
            if done.is_set():
                return
            try:
                await self.renew_once()
            except Exception as exc:
                report_step_failure(log, "lease renewal failed; retrying next round", exc)
