"""@every durations, one-shot instants, zones, descriptions, and the public surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import onewatch
import onewatch.domain.schedule as schedule_package
from onewatch import InvalidPattern, next_occurrence
from onewatch.domain.schedule import describe_pattern, normalize_timezone
from onewatch.domain.schedule.every import parse_go_duration


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2h45m30s", timedelta(hours=2, minutes=45, seconds=30)),
        ("1500ms", timedelta(seconds=1.5)),
        ("1000000us", timedelta(seconds=1)),
        ("1000000µs", timedelta(seconds=1)),
        ("1000000000ns", timedelta(seconds=1)),
        ("24h", timedelta(days=1)),
    ],
)
def test_go_durations(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "@every needs a duration such as 90s or 1h30m"),
        ("10", "@every: '10' is not a duration (use e.g. 90s, 15m, 1h30m)"),
        ("1d", "@every: '1d' is not a duration (use e.g. 90s, 15m, 1h30m)"),
        ("-5m", "@every: '-5m' is not a duration (use e.g. 90s, 15m, 1h30m)"),
        ("\u0665m", "@every: '\u0665m' is not a duration (use e.g. 90s, 15m, 1h30m)"),
        ("500ms", "@every: '500ms' is out of range 1s-36600d"),
        ("0s", "@every: '0s' is out of range 1s-36600d"),
        ("1ns", "@every: '1ns' is finer than a microsecond"),
    ],
)
def test_bad_durations(text: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        next_occurrence(f"@every {text}", "UTC", at("2024-01-01T00:00Z"))
    assert caught.value.field == "pattern"
    assert caught.value.reason == reason


def test_every_is_real_time_and_anchored_at_after() -> None:
    after = at("2024-03-10T06:30Z")  # NY spring-forward: real time ignores the wall clock
    assert next_occurrence("@every 1h", "America/New_York", after) == at("2024-03-10T07:30Z")


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2030-01-31T09:00:00Z", "Asia/Tokyo", "2030-01-31T09:00Z"),
        ("2030-01-31T09:00:00+02:00", "UTC", "2030-01-31T07:00Z"),
        ("2030-01-31T09:00:00", "Asia/Tokyo", "2030-01-31T00:00Z"),  # naive = event's zone
        ("2030-01-31 09:00", "UTC", "2030-01-31T09:00Z"),
        ("2030-03-10T02:30:00", "America/New_York", "2030-03-10T07:00Z"),  # gap: after it
        ("2030-11-03T01:30:00", "America/New_York", "2030-11-03T05:30Z"),  # first pass
    ],
)
def test_one_shot_instants(text: str, zone: str, expected: str) -> None:
    assert next_occurrence(text, zone, at("2029-01-01T00:00Z")) == at(expected)
    assert next_occurrence(text, zone, at(expected)) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2030-01-31", "one-shot '2030-01-31' needs a date and a time, e.g. 2030-01-31T09:00Z"),
        ("2030-02-30T09:00", "one-shot '2030-02-30T09:00' is not a valid ISO-8601 date-time"),
        ("2030-01-31T25:00", "one-shot '2030-01-31T25:00' is not a valid ISO-8601 date-time"),
    ],
)
def test_bad_one_shots(text: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        next_occurrence(text, "UTC", at("2029-01-01T00:00Z"))
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("America/Sao Paulo", "America/Sao_Paulo"),
        (" Europe/London ", "Europe/London"),
        ("UTC", "UTC"),
        ("America/Argentina/Buenos Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_normalize_timezone(name: str, expected: str) -> None:
    assert normalize_timezone(name) == expected


def test_unknown_zone_suggests_close_names() -> None:
    with pytest.raises(InvalidPattern) as caught:
        normalize_timezone("America/Sao_Polo")
    assert caught.value.field == "timezone"
    assert "did you mean America/Sao_Paulo" in caught.value.reason
    with pytest.raises(InvalidPattern, match="timezone: is empty"):
        normalize_timezone("  ")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "*/15 9-17 * * MON-FRI",
            "Every 15 minutes, between 09:00 and 17:59, Monday through Friday",
        ),
        ("0 0 13 * 5", "At 00:00, on day 13 of the month, or on Friday"),
        ("CRON_TZ=Asia/Tokyo 0 9 * * *", "At 09:00 (Asia/Tokyo time)"),
        ("@daily", "Once a day, at 00:00"),
        ("@every 1h30m", "Every 1 hour 30 minutes, counted from the event's start"),
        ("2030-01-31T09:00:00Z", "Once, at 2030-01-31T09:00:00+00:00"),
        ("2030-01-31T09:00", "Once, at 2030-01-31T09:00:00 in the event's time zone"),
        # A step wider than its range is its start value, not "every 100 minutes".
        ("*/100 * * * *", "Every hour"),
        ("0 */30 * * *", "At 00:00"),
        ("0 0 */40 * *", "At 00:00, on day 1 of the month"),
        ("5/100 * * * *", "At 5 minutes past the hour"),
    ],
)
def test_describe_pattern(pattern: str, expected: str) -> None:
    assert describe_pattern(pattern) == expected


def test_describe_rejects_bad_patterns() -> None:
    with pytest.raises(InvalidPattern, match="minute field"):
        describe_pattern("61 * * * *")


def test_public_surface() -> None:
    assert onewatch.next_occurrence is next_occurrence
    assert issubclass(onewatch.InvalidPattern, ValueError)
    for name in (
        "InvalidPattern",
        "Schedule",
        "ScheduleSpec",
        "compile_schedule",
        "describe_pattern",
        "next_occurrence",
        "normalize_timezone",
    ):
        assert name in schedule_package.__all__
        assert hasattr(schedule_package, name)
