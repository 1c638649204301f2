"""The event-level schedule: separation, maxOccurrences, startAt/endAt, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onewatch.domain.schedule import InvalidPattern, Schedule, ScheduleSpec, compile_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def compiled(pattern: str, **options: object) -> Schedule:
    return compile_schedule(ScheduleSpec(pattern, **options))  # type: ignore[arg-type]


def test_separation_fires_every_nth_match() -> None:
    schedule = compiled("0 * * * *", separation=3)
    fires = schedule.upcoming(at("2024-01-01T00:30Z"), 0, 4)
    assert fires == [
        at("2024-01-01T01:00Z"),
        at("2024-01-01T04:00Z"),
        at("2024-01-01T07:00Z"),
        at("2024-01-01T10:00Z"),
    ]


@pytest.mark.parametrize("separation", [0, None, 1])
def test_separation_zero_or_none_means_one(separation: int | None) -> None:
    schedule = compiled("0 * * * *", separation=separation)
    assert schedule.spec.separation == 1
    assert schedule.next_fire(at("2024-01-01T01:00Z"), 1) == at("2024-01-01T02:00Z")


def test_max_occurrences_ends_the_schedule() -> None:
    schedule = compiled("@daily", max_occurrences=2)
    assert schedule.next_fire(at("2024-01-01T12:00Z"), 1) == at("2024-01-02T00:00Z")
    assert schedule.next_fire(at("2024-01-02T00:00Z"), 2) is None
    assert len(schedule.upcoming(at("2024-01-01T12:00Z"), 0, 10)) == 2
    assert len(schedule.upcoming(at("2024-01-01T12:00Z"), 1, 10)) == 1


def test_start_at_is_the_earliest_fire_and_inclusive() -> None:
    schedule = compiled("0 * * * *", start_at=at("2024-06-01T05:00Z"))
    assert schedule.next_fire(at("2024-01-01T00:00Z"), 0) == at("2024-06-01T05:00Z")
    assert schedule.next_fire(at("2024-06-01T07:10Z"), 0) == at("2024-06-01T08:00Z")


def test_end_at_bounds_the_window_inclusively() -> None:
    schedule = compiled("0 * * * *", end_at=at("2024-01-01T03:00Z"))
    fires = schedule.upcoming(at("2024-01-01T00:30Z"), 0, 10)
    assert fires == [at("2024-01-01T01:00Z"), at("2024-01-01T02:00Z"), at("2024-01-01T03:00Z")]


def test_zone_is_normalised_and_used() -> None:
    schedule = compiled("0 9 * * *", timezone="America/Sao Paulo")
    assert schedule.spec.timezone == "America/Sao_Paulo"
    assert schedule.next_fire(at("2024-01-01T00:00Z"), 0) == at("2024-01-01T12:00Z")


def test_every_counts_from_the_anchor() -> None:
    schedule = compiled("@every 1h30m", anchor=at("2024-01-01T00:00Z"))
    assert schedule.next_fire(at("2024-01-01T02:00Z"), 0) == at("2024-01-01T03:00Z")
    assert schedule.next_fire(at("2024-01-01T03:00Z"), 1) == at("2024-01-01T04:30Z")


def test_every_defaults_to_start_at_then_first_after() -> None:
    starting = compiled("@every 90s", start_at=at("2024-01-01T00:00Z"))
    assert starting.next_fire(at("2023-12-31T00:00Z"), 0) == at("2024-01-01T00:00Z")
    assert starting.next_fire(at("2024-01-01T00:00Z"), 1) == at("2024-01-01T00:01:30Z")
    free = compiled("@every 90s", separation=2)
    assert free.upcoming(at("2024-01-01T00:00Z"), 0, 3) == [
        at("2024-01-01T00:01:30Z"),
        at("2024-01-01T00:04:30Z"),
        at("2024-01-01T00:07:30Z"),
    ]


def test_one_shot_fires_once() -> None:
    schedule = compiled("2030-05-01T09:00:00", timezone="Europe/Paris", max_occurrences=5)
    assert schedule.is_one_shot
    assert schedule.next_fire(at("2030-01-01T00:00Z"), 0) == at("2030-05-01T07:00Z")
    assert schedule.next_fire(at("2030-01-01T00:00Z"), 1) is None
    assert schedule.next_fire(at("2030-05-01T07:00Z"), 0) is None  # already past
    assert schedule.upcoming(at("2030-01-01T00:00Z"), 0, 3) == [at("2030-05-01T07:00Z")]
    assert not compiled("@daily").is_one_shot


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        (ScheduleSpec("0 0 30 2 *"), "pattern", "never fires: no day 30 in Feb"),
        (ScheduleSpec("@daily", "Mars/Base"), "timezone", "unknown time zone 'Mars/Base'"),
        (
            ScheduleSpec("@daily", separation=-1),
            "separation",
            "must be a whole number >= 0, got -1",
        ),
        (ScheduleSpec("@daily", max_occurrences=0), "maxOccurrences", "must be at least 1, got 0"),
        (
            ScheduleSpec(
                "@daily", start_at=at("2024-01-02T00:00Z"), end_at=at("2024-01-01T00:00Z")
            ),
            "endAt",
            "2024-01-01T00:00:00+00:00 is not after startAt 2024-01-02T00:00:00+00:00",
        ),
        (
            ScheduleSpec("@daily", start_at=datetime(2024, 1, 1)),
            "startAt",
            "needs a time zone offset (e.g. Z or +02:00)",
        ),
        (
            ScheduleSpec("@daily", end_at=datetime(2024, 1, 1)),
            "endAt",
            "needs a time zone offset (e.g. Z or +02:00)",
        ),
        (
            ScheduleSpec("CRON_TZ=Asia/Tokyo @daily", "UTC"),
            "timezone",
            "'UTC' conflicts with the pattern's zone prefix 'Asia/Tokyo'",
        ),
    ],
)
def test_every_rejection_names_its_field(spec: ScheduleSpec, field: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        compile_schedule(spec)
    assert caught.value.field == field
    assert caught.value.reason.startswith(reason)
    assert str(caught.value) == f"{field}: {caught.value.reason}"


def test_prefix_matching_the_timezone_is_accepted() -> None:
    schedule = compiled("CRON_TZ=Asia/Tokyo 0 9 * * *", timezone="Asia/Tokyo")
    assert schedule.next_fire(at("2024-01-01T00:00Z"), 0) == at("2024-01-01T00:00Z").replace(day=2)


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        compiled("@daily").next_fire(datetime(2024, 1, 1), 0)
