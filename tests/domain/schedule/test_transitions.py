"""offset_changes: the DST changes the dashboard marks between two fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onewatch.domain.schedule import OffsetChange, offset_changes


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def test_new_york_2024() -> None:
    changes = offset_changes(
        "America/New_York", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert changes == [
        OffsetChange(datetime(2024, 3, 10, 7, tzinfo=UTC), hours(-5), hours(-4)),
        OffsetChange(datetime(2024, 11, 3, 6, tzinfo=UTC), hours(-4), hours(-5)),
    ]
    assert changes[0].is_gap and not changes[1].is_gap


def test_lord_howe_half_hour_and_window_bounds() -> None:
    change_at = datetime(2024, 10, 5, 15, 30, tzinfo=UTC)  # 02:00 +10:30 -> 02:30 +11:00
    second = timedelta(seconds=1)
    assert offset_changes("Australia/Lord Howe", change_at - second, change_at + second) == [
        OffsetChange(change_at, hours(10.5), hours(11))
    ]
    assert offset_changes("Australia/Lord_Howe", change_at, change_at + hours(1)) == []
    assert len(offset_changes("Australia/Lord_Howe", change_at - second, change_at)) == 1
    year = offset_changes(
        "Australia/Lord_Howe", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert [change.after - change.before for change in year] == [hours(-0.5), hours(0.5)]
    assert (
        offset_changes("UTC", datetime(2024, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
        == []
    )
    assert (
        len(
            offset_changes(
                "Europe/London",
                datetime(2000, 1, 1, tzinfo=UTC),
                datetime(2030, 1, 1, tzinfo=UTC),
                limit=3,
            )
        )
        == 3
    )
