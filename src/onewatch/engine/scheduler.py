"""The scheduler: due events become deliveries, and events move to their next fire.

It sleeps until the earliest ``next_occurrence`` minus a small look-ahead (bounded by a
maximum idle time), or until the API signals a change, never on a fixed tick. Each wake
claims a batch of due events and commits their deliveries and advances in one
transaction (``store.firing``); a full batch is followed at once by the next.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import structlog

from onewatch.domain.misfire import MisfirePolicy, plan_fires
from onewatch.domain.schedule import InvalidPattern, Schedule, ScheduleSpec, compile_schedule
from onewatch.domain.schedule.business import calendar_fields
from onewatch.domain.schedule.oneshot import looks_like_instant
from onewatch.domain.statuses import DeliveryStatus
from onewatch.engine.outage import report_step_failure
from onewatch.engine.waiting import first_of
from onewatch.runtime import Runtime
from onewatch.store.records import Advance, DueEvent, HeldOccurrence

log = structlog.get_logger("onewatch.scheduler")

#: Wait after an unexpected error (database gone) before trying again.
ERROR_BACKOFF_SECONDS = 1.0
#: Under steady load, passes per look-ahead. Each pass's work runs on the event loop in
#: a few synchronous steps that every due send waits behind, so small frequent passes
#: keep those stalls short; a burst still goes in full batches, one after the other.
PASSES_PER_LOOKAHEAD = 20


@lru_cache(maxsize=8192)
def _cached_schedule(spec: ScheduleSpec) -> Schedule:
    return compile_schedule(spec)


def _schedule(spec: ScheduleSpec) -> Schedule:
    """A compiled schedule; recurring ones from a cache, one-shots compiled afresh.

    A one-shot's pattern is its own instant, so its spec never comes back: cached, the
    one-shots of a steady stream would fill every entry (RSS for nothing, see
    BENCHMARKS.md) and push out the recurring schedules the cache is there for.
    """
    if looks_like_instant(spec.pattern):
        return compile_schedule(spec)
    return _cached_schedule(spec)


def _spec(event: DueEvent) -> ScheduleSpec:
    return ScheduleSpec(
        pattern=event.pattern,
        timezone=event.timezone,
        separation=event.separation,
        max_occurrences=event.max_occurrences,
        start_at=event.start_at,
        end_at=event.end_at,
        **calendar_fields(event.__dict__),
    )


def plan_event(event: DueEvent, *, now: datetime, horizon: datetime, fire_all_cap: int) -> Advance:
    """The deliveries a due event makes and its next state (pure)."""
    try:
        schedule = _schedule(_spec(event))
    except InvalidPattern as exc:
        log.error("event schedule unusable; completing it", event_id=event.id, error=str(exc))
        return Advance(event, [], None, event.occurrences)
    plan = plan_fires(
        schedule,
        due=event.next_occurrence,
        occurrences=event.occurrences,
        horizon=horizon,
        late_before=now - timedelta(seconds=event.misfire_grace_seconds),
        policy=MisfirePolicy(event.misfire_policy),
        fire_all_cap=fire_all_cap,
    )
    return Advance(event, plan.fires, plan.next_occurrence, plan.occurrences)


class Scheduler:
    """One scheduler loop over a runtime's store."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.lookahead = timedelta(seconds=self.settings.scheduler_lookahead_seconds)
        #: Under steady load something is always inside the look-ahead; passing at most
        #: this often batches it, and still creates each delivery well before it is due.
        self.min_pass_seconds = self.settings.scheduler_lookahead_seconds / PASSES_PER_LOOKAHEAD
        #: Nothing is known to be due before the current wait ends (a plain poll, or the
        #: start): the next pass looks before it takes the writer's lock.
        self._polling = True

    async def fire_once(self) -> bool:
        """Claim and fire one batch; True when the batch was full (more may be due)."""
        now = self.runtime.clock.now()
        horizon = now + self.lookahead
        cap = self.settings.misfire_fire_all_cap
        batch = await self.runtime.store.fire_due_events(
            now=now,
            horizon=horizon,
            limit=self.settings.scheduler_batch_size,
            plan=lambda event: plan_event(event, now=now, horizon=horizon, fire_all_cap=cap),
        )
        if batch.deliveries_created:
            self.runtime.metrics.occurrences_fired.inc(batch.deliveries_created)
            self.runtime.dispatch_wakeup.notify()
        if batch.held:
            self._count_held(batch.held)
        if batch.events_advanced:
            log.debug("fired", events=batch.events_advanced, deliveries=batch.deliveries_created)
        return batch.full

    def _count_held(self, held: Sequence[HeldOccurrence]) -> None:
        """Counted here, where the firing committed: the node whose transaction stored an
        occurrence is the only one that reports it, so the sum over nodes is exact."""
        metrics = self.runtime.metrics
        for (service, status, cause), count in Counter(
            (h.service, h.status, h.skip_cause) for h in held
        ).items():
            if status == DeliveryStatus.SKIPPED:
                metrics.occurrences_skipped.labels(service, cause).inc(count)
            else:
                metrics.occurrences_buffered.labels(service).inc(count)

    def _idle_seconds(self, due: datetime | None) -> float:
        """Until the earliest due event enters the look-ahead, at most the maximum idle."""
        longest = self.settings.scheduler_max_idle_seconds
        if due is None:
            return longest
        until = (due - self.lookahead - self.runtime.clock.now()).total_seconds()
        return min(max(until, self.min_pass_seconds), longest)

    async def step(self, stop: asyncio.Event) -> None:
        if self._polling:
            # Nothing was due when this wait began: look (a read) before firing (a write
            # transaction), so an idle node never takes the writer's lock. Under load
            # the wait ends at a known due instant and the pass fires at once.
            due = await self.runtime.store.earliest_due()
            if due is None or due > self.runtime.clock.now() + self.lookahead:
                await self._wait(stop, due)
                return
        if await self.fire_once():
            return
        await self._wait(stop, await self.runtime.store.earliest_due())

    async def _wait(self, stop: asyncio.Event, due: datetime | None) -> None:
        idle = self._idle_seconds(due)
        self._polling = idle >= self.settings.scheduler_max_idle_seconds
        if idle > 0:
            # With ``due``, a change due no sooner (most creates) does not wake us.
            woken = self.runtime.wakeup.wait(idle, due)
            await first_of(stop.wait(), woken, seconds=idle)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("scheduler started")
        while not stop.is_set():
            try:
                await self.step(stop)
            except Exception as exc:
                report_step_failure(log, "scheduler step failed; retrying", exc)
                await first_of(stop.wait(), seconds=ERROR_BACKOFF_SECONDS)
        log.info("scheduler stopped")
