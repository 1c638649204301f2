"""The engine against the brute-force reference, over random patterns near DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onewatch import InvalidPattern, next_occurrence
from onewatch.domain.schedule import ScheduleSpec, compile_schedule
from tests.domain.schedule.reference import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    PatternModel,
    reference_next,
)

#: The zones the issue names, each with the years whose transitions we test around.
ZONE_YEARS = {
    "America/New_York": (2023, 2025),
    "Europe/London": (2023, 2025),
    "America/Sao_Paulo": (2017, 2019),
    "Australia/Lord_Howe": (2023, 2025),
    "Pacific/Chatham": (2023, 2025),
}
HORIZON_DAYS = 366 * 9
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _offset_at(moment: datetime, zone: ZoneInfo) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants where the zone's offset changes, found by an hourly scan + bisection."""
    zone = ZoneInfo(zone_name)
    first_year, last_year = ZONE_YEARS[zone_name]
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found = []
    while moment < end:
        following = moment + timedelta(hours=1)
        if _offset_at(moment, zone) != _offset_at(following, zone):
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_at(middle, zone) == _offset_at(low, zone):
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment = following
    assert found, zone_name
    return tuple(found)


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an instant within a day and a half of one of its offset changes.

    Half of the draws land within 90 minutes of the change: inside the gap or the
    repeated hour, where the rules bite.
    """
    zone_name = draw(st.sampled_from(sorted(ZONE_YEARS)))
    change = draw(st.sampled_from(transitions(zone_name)))
    minutes = draw(st.one_of(st.integers(-36 * 60, 36 * 60), st.integers(-90, 90)))
    seconds = draw(st.sampled_from([0, 0, 0, 1, 30, 59]))
    return zone_name, change + timedelta(minutes=minutes, seconds=seconds)


def _set_field(
    values: st.SearchStrategy[frozenset[int]],
) -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    return values.map(lambda chosen: (",".join(map(str, sorted(chosen))), chosen))


def _time_field(high: int, likely: int) -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    every = st.just(("*", frozenset(range(high + 1))))
    # Steps wider than the field (Vixie cron accepts them) select its first value alone.
    steps = st.one_of(st.integers(2, high // 2), st.integers(high, 2 * high))
    stepped = steps.map(lambda k: (f"*/{k}", frozenset(range(0, high + 1, k))))
    ranged = st.tuples(st.integers(0, high), st.integers(0, high), st.integers(1, 7)).map(
        lambda t: (
            f"{min(t[0], t[1])}-{max(t[0], t[1])}/{t[2]}",
            frozenset(range(min(t[0], t[1]), max(t[0], t[1]) + 1, t[2])),
        )
    )
    near = _set_field(st.frozensets(st.integers(0, likely), min_size=1, max_size=3))
    anywhere = _set_field(st.frozensets(st.integers(0, high), min_size=1, max_size=3))
    early = _set_field(st.frozensets(st.integers(0, 15), min_size=1, max_size=2))
    return st.one_of(every, stepped, ranged, near, anywhere, early)


def _month_field() -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    months = st.frozensets(st.integers(1, 12), min_size=1, max_size=4)
    named = months.map(lambda m: (",".join(MONTH_NAMES[i - 1] for i in sorted(m)), m))
    every = st.just(("*", frozenset(range(1, 13))))
    return st.one_of(every, every, _set_field(months), named)


@st.composite
def patterns(draw: st.DrawFn) -> PatternModel:
    """Random cron patterns, biased to the minutes and hours where DST changes happen."""
    minute_text, minutes = draw(_time_field(59, 59))
    hour_text, hours = draw(_time_field(23, 4))
    month_text, months = draw(_month_field())
    # Unrestricted days half of the time, so the pattern often matches the change's day.
    day_of_month = draw(st.one_of(st.just("*"), st.sampled_from(sorted(DAY_OF_MONTH))))
    day_of_week = draw(st.one_of(st.just("*"), st.sampled_from(sorted(DAY_OF_WEEK))))
    return PatternModel(
        minute_text, minutes, hour_text, hours, day_of_month, month_text, months, day_of_week
    )


def _engine_next(model: PatternModel, zone_name: str, after: datetime) -> datetime | None:
    try:
        return next_occurrence(model.text, zone_name, after)
    except InvalidPattern as exc:
        assert "never fires" in exc.reason, exc
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=patterns(), moment=near_transition())
def test_next_occurrence_matches_reference(
    model: PatternModel, moment: tuple[str, datetime]
) -> None:
    zone_name, after = moment
    expected = reference_next(model, ZoneInfo(zone_name), after, HORIZON_DAYS)
    got = _engine_next(model, zone_name, after)
    if expected is None:
        assert got is None or got > after + timedelta(days=HORIZON_DAYS - 2)
    else:
        assert got == expected, (model.text, zone_name, after.isoformat())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=patterns(), moment=near_transition())
def test_successive_fires_never_double_or_skip(
    model: PatternModel, moment: tuple[str, datetime]
) -> None:
    """Chained calls (after = previous fire) list exactly the reference's fires, in order."""
    zone_name, after = moment
    zone = ZoneInfo(zone_name)
    for _ in range(12):
        expected = reference_next(model, zone, after, HORIZON_DAYS)
        got = _engine_next(model, zone_name, after)
        if expected is None:
            return
        assert got == expected, (model.text, zone_name, after.isoformat())
        after = expected


def test_transitions_found_for_every_zone() -> None:
    """Each zone's scan finds both directions of change (the strategy depends on it)."""
    for zone_name in ZONE_YEARS:
        assert len(transitions(zone_name)) >= 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=patterns(), moment=near_transition(), separation=st.integers(2, 4))
def test_separation_takes_every_nth_reference_match(
    model: PatternModel, moment: tuple[str, datetime], separation: int
) -> None:
    """After a fire, the next one is the ``separation``-th match of the reference."""
    zone_name, after = moment
    try:
        schedule = compile_schedule(ScheduleSpec(model.text, zone_name, separation=separation))
    except InvalidPattern:
        return
    expected: datetime | None = after
    for _ in range(separation):
        assert expected is not None
        expected = reference_next(model, ZoneInfo(zone_name), expected, HORIZON_DAYS)
        if expected is None:
            return
    assert schedule.next_fire(after, 1) == expected


@settings(max_examples=60, deadline=None)
@given(
    anchor=st.datetimes(datetime(2000, 1, 1), datetime(2050, 1, 1), timezones=st.just(UTC)),
    offset=st.integers(-(10**9), 10**10),
    seconds=st.integers(1, 10**7),
)
def test_every_fires_on_the_anchor_grid(anchor: datetime, offset: int, seconds: int) -> None:
    """``@every``: the first ``anchor + k * interval`` (k >= 0) strictly after ``after``."""
    after = anchor + timedelta(microseconds=offset)
    schedule = compile_schedule(ScheduleSpec(f"@every {seconds}s", anchor=anchor))
    got = schedule.next_fire(after, 0)
    assert got is not None and got > after
    k, rest = divmod(got - anchor, timedelta(seconds=seconds))
    assert rest == timedelta(0) and k >= 0
    assert k == 0 or got - timedelta(seconds=seconds) <= after
