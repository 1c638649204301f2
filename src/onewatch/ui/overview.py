"""The overview's figures: counts, recent fires and failures, lateness, the next 24 hours."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from onewatch.ports import Store
from onewatch.ui.upcoming import HOUR, HourBar, hourly_fires

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Overview:
    events: dict[str, int]
    deliveries: dict[str, int]
    fires_last_hour: int
    fires_last_day: int
    failures_last_hour: int
    failures_last_day: int
    lateness_p99: float | None
    lateness_sample: int
    chart: list[HourBar]
    #: False when the chart's budget ran out: its bars are then lower bounds.
    chart_complete: bool = True

    @property
    def chart_peak(self) -> int:
        return max((bar.fires for bar in self.chart), default=0)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.99 for p99); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


async def gather(
    store: Store, service: str | None, now: datetime, *, fire_all_cap: int = 100
) -> Overview:
    """Every figure of the overview, for one service or (``None``) for all.

    ``fire_all_cap`` is the scheduler's (``misfire_fire_all_cap``), for overdue events.
    The chart's counting is CPU work that grows with the schedules: it runs in a worker
    thread, so the event loop (fires, other requests, ``/healthz``) keeps going meanwhile.
    """
    async with store.read() as tx:
        events = await tx.events_by_status(service)
        deliveries = await tx.deliveries_by_status(service)
        fires = [await tx.fires_between(service, now - span, now) for span in (HOUR, DAY)]
        failures = [await tx.failed_attempts_since(service, now - span) for span in (HOUR, DAY)]
        lateness = await tx.first_attempt_lateness(service, now - DAY)
        groups = await tx.active_schedules_due_by(service, now + DAY)
    chart = await asyncio.to_thread(hourly_fires, groups, now, fire_all_cap=fire_all_cap)
    return Overview(
        events=events,
        deliveries=deliveries,
        fires_last_hour=fires[0],
        fires_last_day=fires[1],
        failures_last_hour=failures[0],
        failures_last_day=failures[1],
        lateness_p99=percentile(lateness, 0.99),
        lateness_sample=len(lateness),
        chart=chart.bars,
        chart_complete=chart.complete,
    )
