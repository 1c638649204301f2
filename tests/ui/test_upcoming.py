"""The chart's arithmetic for ``@every`` agrees with walking the engine fire by fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from onewatch.domain.schedule import ScheduleSpec, compile_schedule
from onewatch.ui.upcoming import CHART_HOURS, HOUR, hourly_fires

NOW = datetime(2030, 1, 1, 0, 17, 23, 250_000, tzinfo=UTC)


def _group(pattern: str, first: datetime, **schedule: Any) -> dict[str, Any]:
    group = {
        "pattern": pattern,
        "timezone": "UTC",
        "separation": 1,
        "max_occurrences": None,
        "occurrences": 0,
        "start_at": None,
        "end_at": None,
        "next_occurrence": first,
        "misfire_policy": "fire_once",
        "misfire_grace_seconds": 60,
        "events": 1,
    }
    group.update(schedule)
    return group


def _walked(group: dict[str, Any]) -> list[int]:
    """The reference: every fire from the engine, one by one."""
    spec_fields = ("separation", "max_occurrences", "start_at", "end_at")
    spec = ScheduleSpec(group["pattern"], "UTC", **{name: group[name] for name in spec_fields})
    schedule = compile_schedule(spec)
    counts = [0] * CHART_HOURS
    moment, fired = group["next_occurrence"], group["occurrences"]
    while moment is not None and moment < NOW + CHART_HOURS * HOUR:
        counts[(moment - NOW) // HOUR] += 1
        fired += 1
        moment = schedule.next_fire(moment, fired)
    return counts


@settings(max_examples=60, deadline=None)
@given(
    interval=st.integers(1, 3 * 3600),
    first_after=st.integers(1, 25 * 3600),
    separation=st.integers(1, 4),
    limit=st.one_of(st.none(), st.integers(1, 3000)),
    fired=st.integers(0, 10),
    end_after=st.one_of(st.none(), st.integers(0, 30 * 3600)),
    start_before=st.one_of(st.none(), st.integers(0, 7 * 3600)),
)
def test_every_is_counted_as_the_engine_walks_it(
    interval: int,
    first_after: int,
    separation: int,
    limit: int | None,
    fired: int,
    end_after: int | None,
    start_before: int | None,
) -> None:
    # An end at the start itself is refused when the event is written: no such row exists.
    assume(end_after is None or start_before is None or end_after + start_before > 0)
    first = NOW + timedelta(seconds=first_after)
    group = _group(
        f"@every {interval}s",
        first,
        separation=separation,
        max_occurrences=None if limit is None else limit + fired,
        occurrences=fired if limit is not None else 0,
        end_at=None if end_after is None else first + timedelta(seconds=end_after),
        # A start off the first fire's grid: the second fire snaps onto the start's.
        start_at=None if start_before is None else first - timedelta(seconds=start_before),
    )
    chart = hourly_fires([group], NOW, fire_all_cap=100)
    assert chart.complete
    assert [bar.fires for bar in chart.bars] == _walked(group)


def test_groups_are_weighted_by_their_events() -> None:
    group = _group("*/10 * * * *", NOW.replace(minute=20, second=0, microsecond=0), events=7)
    chart = hourly_fires([group], NOW, fire_all_cap=100)
    assert [bar.fires for bar in chart.bars] == [7 * count for count in _walked(group)]


def test_past_the_budget_a_group_counts_its_next_fire_and_the_chart_says_so() -> None:
    soon = _group("* * * * *", NOW + timedelta(minutes=5), events=3)
    at_the_end = _group("* * * * *", NOW + CHART_HOURS * HOUR)  # the SQL bound is inclusive
    chart = hourly_fires([soon, at_the_end], NOW, fire_all_cap=100, budget=0)
    assert not chart.complete
    assert [bar.fires for bar in chart.bars] == [3] + [0] * (CHART_HOURS - 1)
