"""The DST rules, case by case: fixed-time vs interval, gap vs repeated hour."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from onewatch import next_occurrence


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def chain(pattern: str, zone: str, after: str, count: int) -> list[str]:
    """The next ``count`` fires, each after the previous, as local ISO texts."""
    fires: list[str] = []
    moment = at(after)
    for _ in range(count):
        found = next_occurrence(pattern, zone, moment)
        assert found is not None
        fires.append(found.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"))
        moment = found
    return fires


@pytest.mark.parametrize(
    ("pattern", "zone", "after", "expected"),
    [
        # fixed-time, gap: once, at the first instant after the gap (daily and monthly)
        (
            "30 2 * * *",
            "America/New_York",
            "2024-03-10T00:00-05:00",
            ["2024-03-10T03:00-04:00", "2024-03-11T02:30-04:00"],
        ),
        (
            "30 2 10 3 *",
            "America/New_York",
            "2024-03-01T00:00-05:00",
            ["2024-03-10T03:00-04:00", "2025-03-10T02:30-04:00"],
        ),
        (
            "0 0 4 11 *",
            "America/Sao_Paulo",
            "2018-11-01T00:00-03:00",
            ["2018-11-04T01:00-02:00", "2019-11-04T00:00-03:00"],
        ),
        (
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2024-10-05T12:00+10:30",
            ["2024-10-06T02:30+11:00", "2024-10-07T02:15+11:00"],
        ),
        (
            "0 3 * * *",
            "Pacific/Chatham",
            "2024-09-28T12:00+12:45",
            ["2024-09-29T03:45+13:45", "2024-09-30T03:00+13:45"],
        ),
        (
            "30 1 * * *",
            "Europe/London",
            "2024-03-31T00:00Z",
            ["2024-03-31T02:00+01:00", "2024-04-01T01:30+01:00"],
        ),
        # fixed-time, repeated hour: once, at the first occurrence
        (
            "30 1 * * *",
            "America/New_York",
            "2024-11-03T00:00-04:00",
            ["2024-11-03T01:30-04:00", "2024-11-04T01:30-05:00"],
        ),
        (
            "30 1 27 10 *",
            "Europe/London",
            "2024-10-01T00:00+01:00",
            ["2024-10-27T01:30+01:00", "2025-10-27T01:30+00:00"],
        ),
        (
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2024-04-06T12:00+11:00",
            ["2024-04-07T01:45+11:00", "2024-04-08T01:45+10:30"],
        ),
        (
            "0,30 1 * * *",
            "America/New_York",
            "2024-11-03T00:00-04:00",
            ["2024-11-03T01:00-04:00", "2024-11-03T01:30-04:00", "2024-11-04T01:00-05:00"],
        ),
        # interval, gap: skipped wall times do not exist
        (
            "*/30 * * * *",
            "America/New_York",
            "2024-03-10T01:00-05:00",
            ["2024-03-10T01:30-05:00", "2024-03-10T03:00-04:00"],
        ),
        ("*/10 2 * * *", "America/New_York", "2024-03-10T01:00-05:00", ["2024-03-11T02:00-04:00"]),
        # interval, repeated hour: both passes, so the real-time cadence holds
        (
            "*/30 * * * *",
            "America/New_York",
            "2024-11-03T00:45-04:00",
            [
                "2024-11-03T01:00-04:00",
                "2024-11-03T01:30-04:00",
                "2024-11-03T01:00-05:00",
                "2024-11-03T01:30-05:00",
                "2024-11-03T02:00-05:00",
            ],
        ),
        (
            "*/15 1 * * *",
            "Australia/Lord_Howe",
            "2024-04-07T01:20+11:00",
            [
                "2024-04-07T01:30+11:00",
                "2024-04-07T01:45+11:00",
                "2024-04-07T01:30+10:30",
                "2024-04-07T01:45+10:30",
                "2024-04-08T01:00+10:30",
            ],
        ),
        (
            "0 * * * *",
            "Pacific/Chatham",
            "2024-04-07T02:30+13:45",
            ["2024-04-07T03:00+13:45", "2024-04-07T03:00+12:45", "2024-04-07T04:00+12:45"],
        ),
    ],
)
def test_dst_rule(pattern: str, zone: str, after: str, expected: list[str]) -> None:
    assert chain(pattern, zone, after, len(expected)) == expected


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham"]
)
@pytest.mark.parametrize("wall", ["0 0", "30 1", "45 2", "0 3"])
def test_daily_fixed_run_fires_exactly_once_each_day_of_a_year(zone: str, wall: str) -> None:
    """Never a double, never a lost daily run, across both changes of 2024."""
    tz = ZoneInfo(zone)
    moment = datetime(2023, 12, 31, 12, tzinfo=tz).astimezone(UTC)
    days: Counter[date] = Counter()
    while True:
        found = next_occurrence(f"{wall} * * *", zone, moment)
        assert found is not None and found > moment
        if found.astimezone(tz).year > 2024:
            break
        if found.astimezone(tz).year == 2024:
            days[found.astimezone(tz).date()] += 1
        moment = found
    assert len(days) == 366 and set(days.values()) == {1}


def test_sao_paulo_midnight_runs_on_change_days_2017_2019() -> None:
    """São Paulo changed clocks at midnight: the run moves to 01:00, still once."""
    fires = chain("0 0 * * *", "America/Sao_Paulo", "2017-10-14T12:00-03:00", 2)
    assert fires == ["2017-10-15T01:00-02:00", "2017-10-16T00:00-02:00"]
    fires = chain("0 0 * * *", "America/Sao_Paulo", "2019-02-16T12:00-02:00", 2)
    assert fires == ["2019-02-17T00:00-03:00", "2019-02-18T00:00-03:00"]


def test_result_is_strictly_after_and_utc() -> None:
    after = at("2024-11-03T01:30-05:00")  # second pass of the repeated hour
    found = next_occurrence("45 1 * * *", "America/New_York", after)
    assert found == at("2024-11-04T01:45-05:00")
    assert found is not None and found.tzinfo is UTC
    assert found - after > timedelta(hours=23)
