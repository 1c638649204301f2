"""The overview's figures: counts, recent fires and failures, lateness, the next 24 hours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.errors import OnewatchError
from onewatch.store import dashboard
from onewatch.store.transactions import read_connection
from onewatch.ui.schedule_view import next_fires

HOUR = timedelta(hours=1)
CHART_HOURS = 24
#: Fires one event adds to the chart at most (an every-minute event has 1440 a day).
MAX_FIRES_PER_EVENT = 1500


@dataclass(frozen=True)
class HourBar:
    start: datetime
    fires: int


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

    @property
    def chart_peak(self) -> int:
        return max((bar.fires for bar in self.chart), default=0)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.99 for p99); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def hourly_fires(rows: Sequence[RowMapping], now: datetime) -> list[HourBar]:
    """Fires due in each of the next 24 hours (an overdue fire counts in the first)."""
    counts = [0] * CHART_HOURS
    end = now + CHART_HOURS * HOUR
    for row in rows:
        for moment in _fires_before(row, now, end):
            counts[max(int((moment - now) / HOUR), 0)] += 1
    return [HourBar(now + index * HOUR, count) for index, count in enumerate(counts)]


def _fires_before(row: RowMapping, now: datetime, end: datetime) -> list[datetime]:
    try:
        fires = next_fires(row, now, MAX_FIRES_PER_EVENT)
    except OnewatchError:  # a stored schedule the engine no longer accepts: not charted
        return []
    return [moment for moment in fires if moment < end]


async def gather(engine: AsyncEngine, service: str | None, now: datetime) -> Overview:
    """Every figure of the overview, for one service or (``None``) for all."""
    async with read_connection(engine) as connection:
        events = await dashboard.events_by_status(connection, service)
        deliveries = await dashboard.deliveries_by_status(connection, service)
        fires = [
            await dashboard.fires_between(connection, service, now - span, now)
            for span in (HOUR, 24 * HOUR)
        ]
        failures = [
            await dashboard.failed_attempts_since(connection, service, now - span)
            for span in (HOUR, 24 * HOUR)
        ]
        lateness = await dashboard.first_attempt_lateness(connection, service, now - 24 * HOUR)
        due = await dashboard.active_events_due_by(connection, service, now + CHART_HOURS * HOUR)
    return Overview(
        events=events,
        deliveries=deliveries,
        fires_last_hour=fires[0],
        fires_last_day=fires[1],
        failures_last_hour=failures[0],
        failures_last_day=failures[1],
        lateness_p99=percentile(lateness, 0.99),
        lateness_sample=len(lateness),
        chart=hourly_fires(due, now),
    )
