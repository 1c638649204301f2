"""Business calendars in the schedule engine: skip/next/previous, businessDay, DST."""

from __future__ import annotations

import calendar as month_calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from onewatch.domain.schedule import InvalidPattern, ScheduleSpec, compile_schedule
from onewatch.domain.schedule.business import (
    BusinessCalendar,
    NonBusinessDay,
    calendar_from_rules,
    holiday_rules_problem,
)

BR_SP = BusinessCalendar("BR", "SP")
SKIP, NEXT, PREVIOUS = NonBusinessDay.SKIP, NonBusinessDay.NEXT, NonBusinessDay.PREVIOUS


def fires(
    pattern: str,
    after: str,
    count: int,
    *,
    zone: str = "America/Sao_Paulo",
    calendar: BusinessCalendar = BR_SP,
    rule: NonBusinessDay | None = None,
    business_day: int | None = None,
) -> list[str]:
    spec = ScheduleSpec(
        pattern, zone, calendar=calendar, non_business_day=rule, business_day=business_day
    )
    start = datetime.fromisoformat(after).astimezone(UTC)
    found = compile_schedule(spec).upcoming(start, 0, count)
    return [moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes") for moment in found]


def days(texts: list[str]) -> list[str]:
    return [text[:10] for text in texts]


def test_skip_leaves_out_weekends_and_holidays() -> None:
    # 2030-04-19 is Good Friday, the 21st (Tiradentes) a Sunday anyway.
    assert days(fires("0 9 * * *", "2030-04-17T00:00-03:00", 4)) == [
        "2030-04-17",
        "2030-04-18",
        "2030-04-22",
        "2030-04-23",
    ]


def test_include_forces_a_working_saturday_and_exclude_a_day_off() -> None:
    calendar = BusinessCalendar(
        "BR", "SP", exclude=frozenset({date(2030, 4, 23)}), include=frozenset({date(2030, 4, 20)})
    )
    assert days(fires("0 9 * * *", "2030-04-18T10:00-03:00", 3, calendar=calendar)) == [
        "2030-04-20",
        "2030-04-22",
        "2030-04-24",
    ]


def test_next_and_previous_move_to_the_same_wall_time() -> None:
    # 2030-01-05 is a Saturday.
    assert fires("30 14 5 * *", "2030-01-01T00:00-03:00", 1, rule=NEXT) == [
        "2030-01-07T14:30-03:00"
    ]
    assert fires("30 14 5 * *", "2030-01-01T00:00-03:00", 1, rule=PREVIOUS) == [
        "2030-01-04T14:30-03:00"
    ]
    assert fires("30 14 5 * *", "2030-01-01T00:00-03:00", 1, rule=SKIP) == [
        "2030-02-05T14:30-03:00"
    ]


def test_moves_cross_month_and_year_edges() -> None:
    # 2033-12-31 is a Saturday, 2034-01-01 a Sunday and a holiday: Monday the 2nd.
    assert days(fires("0 9 31 12 *", "2033-12-01T00:00-03:00", 1, rule=NEXT)) == ["2034-01-02"]
    # 2031-02-01 is a Saturday: the Friday before is in January.
    assert days(fires("0 9 1 2 *", "2031-01-01T00:00-03:00", 1, rule=PREVIOUS)) == ["2031-01-31"]


def test_occurrences_moved_onto_one_day_merge_into_one_fire() -> None:
    # 2031-03-01 and 03-02 are a Saturday and a Sunday: both move to Monday the 3rd.
    assert fires("0 9 1,2,3 3 *", "2031-02-01T00:00-03:00", 2, rule=NEXT) == [
        "2031-03-03T09:00-03:00",
        "2032-03-01T09:00-03:00",
    ]
    # A day with occurrences of its own takes none moved onto it (daily: next acts as skip).
    assert days(fires("0 9 * * *", "2030-04-17T00:00-03:00", 3, rule=NEXT)) == [
        "2030-04-17",
        "2030-04-18",
        "2030-04-22",
    ]


@pytest.mark.parametrize(
    ("business_day", "expected"),
    [
        (1, ["2030-01-02", "2030-02-01", "2030-03-01"]),
        (2, ["2030-01-03", "2030-02-04", "2030-03-04"]),
        (-1, ["2030-01-31", "2030-02-28", "2030-03-29"]),
        (-2, ["2030-01-30", "2030-02-27", "2030-03-28"]),
    ],
)
def test_business_day_counts_from_the_start_or_the_end(
    business_day: int, expected: list[str]
) -> None:
    # 2030-01-01 is a holiday; 2030-03-30/31 a weekend.
    found = fires("0 9 * * *", "2030-01-01T00:00-03:00", 3, business_day=business_day)
    assert days(found) == expected


def test_business_day_keeps_the_month_field_and_every_time_of_day() -> None:
    found = fires("0,30 18 * 1,7 *", "2030-01-01T00:00-03:00", 3, business_day=-1)
    assert found == ["2030-01-31T18:00-03:00", "2030-01-31T18:30-03:00", "2030-07-31T18:00-03:00"]


def test_a_month_without_that_many_business_days_does_not_fire() -> None:
    found = days(fires("0 9 * * *", "2030-01-01T00:00-03:00", 24, business_day=22))
    for text in found:
        year, month = int(text[:4]), int(text[5:7])
        assert len(BR_SP.business_days_of(year, month)) >= 22
    assert "2030-02" not in {text[:7] for text in found}  # February has 20


def _reference_days(
    base: set[date], calendar: BusinessCalendar, rule: NonBusinessDay
) -> list[date]:
    """Push each matching day to where the rule sends it, then merge (a set)."""
    chosen: set[date] = set()
    for day in base:
        target = day
        step = timedelta(days=1 if rule is NEXT else -1)
        while rule is not SKIP and not calendar.is_business_day(target):
            target += step
        if calendar.is_business_day(target):
            chosen.add(target)
    return sorted(chosen)


@pytest.mark.parametrize("rule", [SKIP, NEXT, PREVIOUS])
@pytest.mark.parametrize("day_field", ["1", "15", "L", "1,2,3", "*/5"])
def test_the_rules_match_a_push_and_merge_reference(rule: NonBusinessDay, day_field: str) -> None:
    pattern = f"0 9 {day_field} * *"
    found = fires(pattern, "2030-01-01T00:00-03:00", 40, rule=rule)
    first, last = date.fromisoformat(found[0][:10]), date.fromisoformat(found[-1][:10])
    plain = compile_schedule(ScheduleSpec(pattern, "America/Sao_Paulo"))
    base = {
        moment.astimezone(ZoneInfo("America/Sao_Paulo")).date()
        for moment in plain.upcoming(datetime(2029, 12, 1, tzinfo=UTC), 0, 200)
    }
    expected = [d for d in _reference_days(base, BR_SP, rule) if first <= d <= last]
    assert [date.fromisoformat(text[:10]) for text in found] == expected


def test_business_day_matches_counting_by_hand() -> None:
    calendar = BusinessCalendar("US", "NY")
    found = fires(
        "0 9 * * *",
        "2030-01-01T00:00-05:00",
        12,
        zone="America/New_York",
        calendar=calendar,
        business_day=3,
    )
    for text in found:
        day = date.fromisoformat(text[:10])
        length = month_calendar.monthrange(day.year, day.month)[1]
        open_days = [
            d
            for d in (date(day.year, day.month, n) for n in range(1, length + 1))
            if d.weekday() < 5 and calendar.holiday_name(d) is None
        ]
        assert open_days[2] == day


# DST: a day chosen by the calendar follows the engine's rules like any other.
SAT_ONLY = BusinessCalendar(weekend=frozenset({5}))


def test_a_move_into_a_spring_forward_gap_fires_right_after_it() -> None:
    # 2024-03-09 is a Saturday; Sunday 10th 02:30 does not exist in New York.
    found = fires(
        "30 2 9 3 *",
        "2024-03-01T00:00-05:00",
        1,
        zone="America/New_York",
        calendar=SAT_ONLY,
        rule=NEXT,
    )
    assert found == ["2024-03-10T03:00-04:00"]


def test_a_move_into_a_repeated_hour_fires_once_at_its_first_pass() -> None:
    # 2024-11-02 is a Saturday; 01:30 happens twice on Sunday the 3rd.
    found = fires(
        "30 1 2 11 *",
        "2024-11-01T00:00-04:00",
        2,
        zone="America/New_York",
        calendar=SAT_ONLY,
        rule=NEXT,
    )
    # 2025-11-02 is a Sunday (a business day here) and a fall-back day as well.
    assert found == ["2024-11-03T01:30-04:00", "2025-11-02T01:30-04:00"]


def test_business_day_on_a_fall_back_day_keeps_the_interval_rule() -> None:
    # November 2025 starts on a Saturday: the 1st business day is Sunday the 2nd, whose
    # 01:00-02:00 repeats. An interval pattern fires in both passes.
    found = fires(
        "*/30 1 * * *",
        "2025-11-01T00:00-04:00",
        4,
        zone="America/New_York",
        calendar=SAT_ONLY,
        business_day=1,
    )
    assert found == [
        "2025-11-02T01:00-04:00",
        "2025-11-02T01:30-04:00",
        "2025-11-02T01:00-05:00",
        "2025-11-02T01:30-05:00",
    ]


def test_a_pattern_that_never_meets_a_business_day_ends_instead_of_searching_forever() -> None:
    assert fires("0 9 * * 6", "2030-01-01T00:00-03:00", 1) == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (ScheduleSpec("0 9 1 * *", calendar=BR_SP, business_day=1), "businessDay"),
        (ScheduleSpec("0 9 * * MON", calendar=BR_SP, business_day=1), "businessDay"),
        (ScheduleSpec("0 9 * * *", calendar=BR_SP, business_day=0), "businessDay"),
        (ScheduleSpec("0 9 * * *", business_day=1), "businessDay"),
        (ScheduleSpec("0 9 * * *", non_business_day=NEXT), "nonBusinessDay"),
        (ScheduleSpec("@every 1h", calendar=BR_SP), "calendar"),
        (ScheduleSpec("2030-01-01T09:00:00Z", calendar=BR_SP), "calendar"),
        (
            ScheduleSpec("0 9 * * *", calendar=BR_SP, business_day=1, non_business_day=NEXT),
            "nonBusinessDay",
        ),
    ],
)
def test_refusals_name_the_field(spec: ScheduleSpec, field: str) -> None:
    with pytest.raises(InvalidPattern) as refused:
        compile_schedule(spec)
    assert refused.value.field == field


def test_holiday_rules_problem_names_country_or_subdivision() -> None:
    assert holiday_rules_problem("BR", "SP") is None
    assert holiday_rules_problem("ZZ", None) is not None
    assert holiday_rules_problem("ZZ", None)[0] == "country"  # type: ignore[index]
    assert holiday_rules_problem("BR", "XX")[0] == "subdivision"  # type: ignore[index]


def test_stored_rules_give_an_equal_calendar() -> None:
    rules = {
        "holidays": {"country": "BR", "subdivision": "SP"},
        "exclude": ["2030-01-15"],
        "include": ["2030-01-19"],
        "weekend": ["FRI", "SAT"],
    }
    assert calendar_from_rules(rules) == BusinessCalendar(
        "BR",
        "SP",
        frozenset({date(2030, 1, 15)}),
        frozenset({date(2030, 1, 19)}),
        frozenset({4, 5}),
    )
    assert calendar_from_rules(rules).why_not_business(date(2030, 4, 19)) == "weekend (FRI)"
    assert BR_SP.why_not_business(date(2030, 4, 19)) == "holiday: Good Friday"
