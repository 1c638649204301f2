"""The events every system is given: the same stored mix, the same due instants.

The stored ("background") events are a realistic mix: half cron patterns across a dozen
zones, half one-shots spread over a month. None of them may come due while a scenario
runs, or they would pollute its measurements: a (pattern, zone) pair whose next fire
falls inside ``QUIET_HOURS`` is left out, and one-shots start after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from onewatch import next_occurrence

QUIET_HOURS = 3
ONE_SHOT_SPAN = timedelta(days=30)

ZONES = (
    "UTC",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Johannesburg",
)

# Names rather than numbers in day-of-week: APScheduler counts Monday as 0.
PATTERNS = (
    "0 9 * * *",
    "30 2 * * *",
    "0 0 1 * *",
    "0 1 15 * *",
    "0 12 * * MON",
    "45 17 * * MON-FRI",
    "15 6 * * SAT,SUN",
    "0 0 1 JAN,APR,JUL,OCT *",
    "20 23 * * *",
    "5 4 10,20 * *",
)


@dataclass(frozen=True)
class StoredEvent:
    """One background event as both systems store it."""

    key: str
    pattern: str
    timezone: str
    next_fire: datetime


def _quiet_pairs(now: datetime) -> list[tuple[str, str, datetime]]:
    horizon = now + timedelta(hours=QUIET_HOURS)
    pairs = []
    for zone in ZONES:
        for pattern in PATTERNS:
            upcoming = next_occurrence(pattern, zone, now)
            if upcoming is not None and upcoming > horizon:
                pairs.append((pattern, zone, upcoming))
    return pairs


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def background_events(count: int, now: datetime) -> Iterator[StoredEvent]:
    """``count`` stored events, even keys cron, odd keys one-shots, none due soon."""
    pairs = _quiet_pairs(now)
    start = now + timedelta(hours=QUIET_HOURS)
    step = ONE_SHOT_SPAN / max(1, count // 2)
    for index in range(count):
        key = f"bg-{index:07d}"
        if index % 2 == 0:
            pattern, zone, upcoming = pairs[(index // 2) % len(pairs)]
            yield StoredEvent(key, pattern, zone, upcoming)
        else:
            moment = _to_millisecond(start + step * (index // 2))
            yield StoredEvent(key, _iso(moment), "UTC", moment)


def iso_instant(moment: datetime) -> str:
    """The ISO-8601 UTC text of an instant, millisecond precision, as patterns carry it."""
    return _iso(moment)


def steady_dues(start: datetime, rate: float, seconds: float) -> list[datetime]:
    """``rate`` fires per second spread evenly over ``seconds`` from ``start``.

    Rounded to the millisecond, the precision of the ISO text a one-shot carries.
    """
    count = int(rate * seconds)
    base = _to_millisecond(start)
    return [base + timedelta(milliseconds=round(index * 1000 / rate)) for index in range(count)]


def due_instant(lead_seconds: float, now: datetime) -> datetime:
    """A due instant ``lead_seconds`` ahead, on a whole millisecond."""
    return _to_millisecond(now + timedelta(seconds=lead_seconds))
