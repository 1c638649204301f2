"""The overview's "next 24 hours" chart: fires due per hour, counted within the window only.

Events that share a schedule and a next fire fire together, so the store hands them in
grouped (``dashboard.active_schedules_due_by``) and each group is counted once, then
weighted by its number of events. Inside a group:

- a fire already due (the scheduler is behind) is planned as the scheduler would plan it
  now (``plan_fires``: the misfire policy decides), and counts in the first hour;
- ``@every`` has a fixed cadence after its next two fires: counted arithmetically;
- a cron pattern fires at most once a minute, so walking it through the window costs at
  most 1,441 steps of the engine.

The walking steps of one chart share a budget (``STEP_BUDGET``), so a store of many
distinct dense schedules costs a bounded time. When it runs out, the rest of the groups
count only their next fire and the chart says its bars are lower bounds: it never stops
early without saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import RowMapping

from onewatch.domain.misfire import MisfirePolicy, plan_fires
from onewatch.domain.schedule import InvalidPattern, Schedule, ScheduleSpec, compile_schedule
from onewatch.domain.schedule.business import calendar_fields
from onewatch.domain.schedule.every import EveryPattern

HOUR = timedelta(hours=1)
CHART_HOURS = 24
_MICROSECOND = timedelta(microseconds=1)
_HOUR_US = HOUR // _MICROSECOND
#: Engine steps one chart may take in all (about 6 us each: some 0.6 s of a thread).
STEP_BUDGET = 100_000


@dataclass(frozen=True)
class HourBar:
    start: datetime
    fires: int


@dataclass(frozen=True)
class Chart:
    """The bars; ``complete`` is False when the budget ran out and bars are lower bounds."""

    bars: list[HourBar]
    complete: bool = True


@dataclass
class _Tally:
    """Counts per hour from ``now``, and the engine steps left to spend."""

    now: datetime
    steps_left: int
    counts: list[int]
    complete: bool = True
    #: Schedules compiled so far: groups often differ only in their next fire.
    compiled: dict[ScheduleSpec, Schedule] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.now + CHART_HOURS * HOUR

    def add(self, moment: datetime, weight: int) -> None:
        """Count a fire; one already due counts in the first hour."""
        self.counts[max((moment - self.now) // HOUR, 0)] += weight

    def spend(self) -> bool:
        """Take one step from the budget; False (and the chart incomplete) once it is out."""
        if self.steps_left <= 0:
            self.complete = False
            return False
        self.steps_left -= 1
        return True


def _schedule(group: RowMapping, tally: _Tally) -> Schedule:
    """The schedule as the scheduler compiles it (``@every`` counts from the last fire)."""
    spec = ScheduleSpec(
        pattern=group["pattern"],
        timezone=group["timezone"],
        separation=group["separation"],
        max_occurrences=group["max_occurrences"],
        start_at=group["start_at"],
        end_at=group["end_at"],
        **calendar_fields(group),
    )
    schedule = tally.compiled.get(spec)
    if schedule is None:
        schedule = tally.compiled[spec] = compile_schedule(spec)
    return schedule


def _catch_up(
    schedule: Schedule, group: RowMapping, tally: _Tally, fire_all_cap: int
) -> tuple[datetime | None, int]:
    """Count what an overdue group fires now; its next fire after now and occurrences."""
    due: datetime = group["next_occurrence"]
    if due > tally.now:
        return due, group["occurrences"]
    plan = plan_fires(
        schedule,
        due=due,
        occurrences=group["occurrences"],
        horizon=tally.now,
        late_before=tally.now - timedelta(seconds=group["misfire_grace_seconds"]),
        policy=MisfirePolicy(group["misfire_policy"]),
        fire_all_cap=fire_all_cap,
    )
    tally.steps_left -= plan.occurrences - group["occurrences"]  # positions walked
    for moment in plan.fires:
        tally.add(moment, group["events"])
    return plan.next_occurrence, plan.occurrences


def _walk(
    schedule: Schedule, first: datetime, occurrences: int, weight: int, tally: _Tally
) -> None:
    """Step through the window fire by fire (a cron pattern: at most one a minute)."""
    moment: datetime | None = first
    fired = occurrences
    while moment is not None and moment < tally.end:
        tally.add(moment, weight)
        fired += 1
        if not tally.spend():
            return
        moment = schedule.next_fire(moment, fired)


def _count_cadence(
    schedule: Schedule, first: datetime, occurrences: int, weight: int, tally: _Tally
) -> None:
    """``@every``: after the second fire, fires are ``second + k * step``; counted, not walked.

    The second fire comes from the engine (it lands on the interval's grid whatever the
    first was); ``step`` is the interval times the separation. Whole microseconds, so
    the counts are exact.
    """
    if first < tally.end:
        tally.add(first, weight)
    second = schedule.next_fire(first, occurrences + 1)
    if second is None:
        return
    rule = schedule.pattern.rule
    assert isinstance(rule, EveryPattern)
    step = rule.interval * (schedule.spec.separation or 1) // _MICROSECOND
    later = _cadence_fires(schedule, second, occurrences + 1, step)
    start = (tally.now - second) // _MICROSECOND  # negative: ``second`` is after now
    counted = 0
    for index in range(CHART_HOURS):
        # Fires from ``second`` strictly before this hour's end: ceil((end - second) / step).
        before_end = min(later, max(-(-(start + (index + 1) * _HOUR_US) // step), 0))
        tally.counts[index] += (before_end - counted) * weight
        counted = before_end


def _cadence_fires(schedule: Schedule, second: datetime, fired: int, step: int) -> int:
    """How many fires from ``second`` on the schedule allows (max occurrences, end)."""
    spec = schedule.spec
    allowed = 10**12 if spec.max_occurrences is None else spec.max_occurrences - fired
    if spec.end_at is not None:
        allowed = min(allowed, (spec.end_at - second) // _MICROSECOND // step + 1)
    return max(allowed, 0)


def _count_group(group: RowMapping, tally: _Tally, fire_all_cap: int) -> None:
    try:
        schedule = _schedule(group, tally)
        if not tally.spend():  # out of budget: the next fire alone, known without a step
            if group["next_occurrence"] < tally.end:
                tally.add(group["next_occurrence"], group["events"])
            return
        first, occurrences = _catch_up(schedule, group, tally, fire_all_cap)
    except InvalidPattern:  # a stored schedule the engine no longer accepts: not charted
        return
    if first is None:
        return
    if isinstance(schedule.pattern.rule, EveryPattern):
        _count_cadence(schedule, first, occurrences, group["events"], tally)
    else:
        _walk(schedule, first, occurrences, group["events"], tally)


def hourly_fires(
    groups: Sequence[RowMapping], now: datetime, *, fire_all_cap: int, budget: int = STEP_BUDGET
) -> Chart:
    """Fires due in each of the next 24 hours, for events grouped by schedule.

    Pure CPU work: the overview runs it in a worker thread, off the event loop.
    """
    tally = _Tally(now, budget, [0] * CHART_HOURS)
    for group in groups:
        _count_group(group, tally, fire_all_cap)
    bars = [HourBar(now + index * HOUR, count) for index, count in enumerate(tally.counts)]
    return Chart(bars, tally.complete)
