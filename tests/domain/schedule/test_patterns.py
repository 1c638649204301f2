"""Pattern grammar: what is accepted, what is rejected, and the words of each rejection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onewatch import InvalidPattern, next_occurrence
from onewatch.domain.schedule import parse_pattern
from onewatch.domain.schedule.cron import CronPattern


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("60 0 * * *", "minute field: 60 is out of range 0-59"),
        ("0 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 32 * *", "day-of-month field: 32 is out of range 1-31"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("*/0 * * * *", "minute field: step 0 is not allowed"),
        ("5-3 * * * *", "minute field: range 5-3 is reversed (5 > 3)"),
        ("0 0 * * FRI-MON", "day-of-week field: range FRI-MON is reversed (5 > 1)"),
        ("1,,2 * * * *", "minute field: empty list item"),
        ("1, * * * *", "minute field: empty list item"),
        ("\u00b9 * * * *", "minute field: '\u00b9' is not a valid value"),
        ("\u0661 * * * *", "minute field: '\u0661' is not a valid value"),
        ("* * * JANUARY *", "month field: 'JANUARY' is not a valid value"),
        ("* * * * MONDAY", "day-of-week field: 'MONDAY' is not a valid value"),
        ("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 0 30 2 *", "never fires: no day 30 in Feb"),
        ("0 0 31 4,6,9,11 *", "never fires: no day 31 in Apr, Jun, Sep, Nov"),
        ("0 0 31W 2 *", "never fires: no day 31 in Feb"),
        ("*/5/2 * * * *", "minute field: step '5/2' is not a number"),
        ("0 0 * * 1#6", "day-of-week field: #6 is out of range 1-5"),
        ("0 0 * * L", "day-of-week field: 'L' needs a weekday before it (5L = last Friday)"),
        ("0 0 L-2 * *", "day-of-month field: 'L' is not a valid value"),
        ("", "is empty; expected e.g. '0 9 * * *', '@daily' or '@every 1h'"),
        (
            "@fortnightly",
            "unknown descriptor '@fortnightly'; expected one of @yearly "
            "@annually @monthly @weekly @daily @midnight @hourly @every",
        ),
        (
            "@daily 5",
            "unknown descriptor '@daily 5'; expected one of @yearly "
            "@annually @monthly @weekly @daily @midnight @hourly @every",
        ),
    ],
)
def test_rejection_names_field_and_reason(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        parse_pattern(pattern)
    assert caught.value.field == "pattern"
    assert caught.value.reason == reason
    assert str(caught.value) == f"pattern: {reason}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("pattern", "after", "expected"),
    [
        ("0 0 * * 7", "2024-01-01T00:00Z", "2024-01-07T00:00Z"),  # 7 is Sunday
        ("0 0 * * 0", "2024-01-01T00:00Z", "2024-01-07T00:00Z"),
        ("0 0 * * sun", "2024-01-01T00:00Z", "2024-01-07T00:00Z"),  # names ignore case
        ("0 0 1 jan-mar/2 *", "2024-01-02T00:00Z", "2024-03-01T00:00Z"),
        ("0 0 ? * MON", "2024-01-02T00:00Z", "2024-01-08T00:00Z"),  # ? is *
        ("30 5/6 * * *", "2024-01-01T06:00Z", "2024-01-01T11:30Z"),  # 5/6 = 5,11,17,23
        ("0 0 L * *", "2024-02-01T00:00Z", "2024-02-29T00:00Z"),
        ("0 0 LW * *", "2024-08-01T00:00Z", "2024-08-30T00:00Z"),  # Aug 31 2024 is Saturday
        ("0 0 15W * *", "2024-06-01T00:00Z", "2024-06-14T00:00Z"),  # Jun 15 2024: Saturday
        ("0 0 1W * *", "2024-06-01T00:00Z", "2024-06-03T00:00Z"),  # Sat 1st -> Mon 3rd
        ("0 0 30W * *", "2024-06-01T00:00Z", "2024-06-28T00:00Z"),  # Sun 30th -> Fri 28th
        ("0 0 * * 5L", "2024-05-01T00:00Z", "2024-05-31T00:00Z"),  # last Friday
        ("0 0 * * fril", "2024-05-01T00:00Z", "2024-05-31T00:00Z"),  # any case
        ("0 0 lw * *", "2024-08-01T00:00Z", "2024-08-30T00:00Z"),
        ("0 0 * * MON#2", "2024-05-01T00:00Z", "2024-05-13T00:00Z"),  # second Monday
        ("0 0 * * 0#5", "2024-05-01T00:00Z", "2024-06-30T00:00Z"),  # a fifth Sunday
        ("0 0 13 * 5", "2024-09-07T00:00Z", "2024-09-13T00:00Z"),  # 13th OR Friday
        ("0 0 */1 * 5", "2024-09-07T00:00Z", "2024-09-13T00:00Z"),  # */1 is unrestricted
        ("0 0 1-31 * 5", "2024-09-07T00:00Z", "2024-09-08T00:00Z"),  # 1-31 is restricted
        ("@yearly", "2024-05-01T00:00Z", "2025-01-01T00:00Z"),
        ("@annually", "2024-05-01T00:00Z", "2025-01-01T00:00Z"),
        ("@monthly", "2024-05-01T00:00Z", "2024-06-01T00:00Z"),
        ("@weekly", "2024-05-01T00:00Z", "2024-05-05T00:00Z"),
        ("@daily", "2024-05-01T00:00Z", "2024-05-02T00:00Z"),
        ("@MIDNIGHT", "2024-05-01T00:00Z", "2024-05-02T00:00Z"),
        ("@hourly", "2024-05-01T00:00Z", "2024-05-01T01:00Z"),
        ("0 0 29 2 *", "2096-03-01T00:00Z", "2104-02-29T00:00Z"),  # no 5-year horizon
        ("0 0 29 2 1", "2024-03-01T00:00Z", "2025-02-03T00:00Z"),  # OR: Feb Mondays
        ("59 23 31 12 *", "9997-01-01T00:00Z", "9997-12-31T23:59Z"),
        # A step wider than its range matches the start value alone (Vixie, cronsim, robfig).
        ("*/100 * * * *", "2024-01-01T00:00Z", "2024-01-01T01:00Z"),
        ("*/60 * * * *", "2024-01-01T00:30Z", "2024-01-01T01:00Z"),
        ("0 */30 * * *", "2024-01-01T00:00Z", "2024-01-02T00:00Z"),
        ("0 0 */40 * *", "2024-01-01T00:00Z", "2024-02-01T00:00Z"),
        ("0 0 1 */13 *", "2024-01-01T00:00Z", "2025-01-01T00:00Z"),
        ("0 0 * * */7", "2024-01-01T00:00Z", "2024-01-07T00:00Z"),  # Sunday only
        ("10-20/50 * * * *", "2024-01-01T00:10Z", "2024-01-01T01:10Z"),
        ("5/100 3 * * *", "2024-01-01T00:00Z", "2024-01-01T03:05Z"),
    ],
)
def test_next_occurrence_forms(pattern: str, after: str, expected: str) -> None:
    assert next_occurrence(pattern, "UTC", at(after)) == at(expected)


def test_no_fire_past_the_calendar_is_none() -> None:
    assert next_occurrence("0 0 1 1 *", "UTC", at("9999-06-01T00:00Z")) is None


@pytest.mark.parametrize(
    ("pattern", "interval"),
    [
        ("0 2 * * *", False),
        ("0-59/5 2 * * *", False),
        ("5 * * * *", True),
        ("*/5 2 * * *", True),
        ("? 2 * * *", True),
        ("@hourly", True),
        ("@daily", False),
    ],
)
def test_interval_classification(pattern: str, interval: bool) -> None:
    rule = parse_pattern(pattern).rule
    assert isinstance(rule, CronPattern)
    assert rule.is_interval is interval


def test_zone_prefix_is_read() -> None:
    parsed = parse_pattern("CRON_TZ=America/New_York 0 9 * * *")
    assert parsed.zone == "America/New_York"
    assert parse_pattern("TZ=Asia/Tokyo @daily").zone == "Asia/Tokyo"
    got = next_occurrence(
        "TZ=America/New_York 0 9 * * *", "America/New_York", at("2024-01-01T00:00Z")
    )
    assert got == at("2024-01-01T14:00Z")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("CRON_TZ= 0 9 * * *", "CRON_TZ= needs a zone name, e.g. CRON_TZ=Europe/Paris"),
        ("TZ=Mars/Olympus 0 9 * * *", "TZ= prefix: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_zone_prefix(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        parse_pattern(pattern)
    assert caught.value.field == "pattern"
    assert caught.value.reason.startswith(reason)


def test_prefix_conflicting_with_timezone_is_an_error() -> None:
    with pytest.raises(InvalidPattern) as caught:
        next_occurrence("CRON_TZ=Asia/Tokyo 0 9 * * *", "Europe/Paris", at("2024-01-01T00:00Z"))
    assert caught.value.field == "timezone"
    assert "Asia/Tokyo" in caught.value.reason


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_occurrence("* * * * *", "UTC", datetime(2024, 1, 1))
