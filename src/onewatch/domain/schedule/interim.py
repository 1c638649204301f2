"""INTERIM stand-in for the schedule engine (issue 2 replaces this whole module).

It exists only so that the API and firing work can proceed against the final contract
(the names exported by ``onewatch.domain.schedule``) while the real engine is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError


class InvalidPattern(ValueError):
    """A schedule that cannot be used; ``field`` names the part, ``reason`` says why."""

    def __init__(self, reason: str, *, field: str = "pattern") -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalize_timezone(name: str) -> str:
    candidate = name.strip().replace(" ", "_")
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        import difflib

        close = difflib.get_close_matches(candidate, sorted(available_timezones()), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidPattern(f"unknown time zone {name!r}{hint}", field="timezone") from exc
    return candidate


def _parse_instant(pattern: str, zone: ZoneInfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(pattern.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def next_occurrence(pattern: str, timezone: str, after: datetime) -> datetime | None:
    zone = ZoneInfo(normalize_timezone(timezone))
    instant = _parse_instant(pattern, zone)
    if instant is not None:
        return instant if instant > after else None
    try:
        it = CronSim(pattern, after.astimezone(zone))
        return next(it).astimezone(UTC)
    except CronSimError as exc:
        raise InvalidPattern(str(exc)) from exc
    except StopIteration:
        return None


@dataclass(frozen=True)
class ScheduleSpec:
    pattern: str
    timezone: str = "UTC"
    separation: int = 1
    max_occurrences: int | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None


@dataclass(frozen=True)
class Schedule:
    spec: ScheduleSpec

    @property
    def is_one_shot(self) -> bool:
        return _parse_instant(self.spec.pattern, ZoneInfo(self.spec.timezone)) is not None

    def next_fire(self, after: datetime, fired_so_far: int) -> datetime | None:
        """The next fire strictly after ``after`` given ``fired_so_far`` fires already.

        With ``separation`` N, the first fire is the first match, then every N-th match
        after the previous fire (``after`` is then the previous fire's instant).
        """
        spec = self.spec
        if spec.max_occurrences is not None and fired_so_far >= spec.max_occurrences:
            return None
        if spec.start_at is not None and after < spec.start_at:
            after = spec.start_at - timedelta(microseconds=1)
        skip = 1 if fired_so_far == 0 else spec.separation
        moment: datetime | None = after
        for _ in range(skip):
            assert moment is not None
            moment = next_occurrence(spec.pattern, spec.timezone, moment)
            if moment is None:
                return None
        if moment is not None and spec.end_at is not None and moment > spec.end_at:
            return None
        return moment

    def upcoming(self, after: datetime, fired_so_far: int, count: int) -> list[datetime]:
        fires: list[datetime] = []
        moment: datetime | None = after
        while len(fires) < count and moment is not None:
            moment = self.next_fire(moment, fired_so_far + len(fires))
            if moment is not None:
                fires.append(moment)
        return fires


def compile_schedule(spec: ScheduleSpec) -> Schedule:
    zone = normalize_timezone(spec.timezone)
    if spec.separation < 1:
        raise InvalidPattern("must be at least 1", field="separation")
    spec = ScheduleSpec(
        spec.pattern, zone, spec.separation, spec.max_occurrences, spec.start_at, spec.end_at
    )
    next_occurrence(spec.pattern, zone, datetime(2000, 1, 1, tzinfo=UTC))
    return Schedule(spec)


def describe_pattern(pattern: str) -> str:
    return pattern
