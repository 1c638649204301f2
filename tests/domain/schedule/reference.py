"""A deliberately simple brute-force oracle for the schedule engine's rules.

It walks wall-clock days and minutes in the zone, tests each minute against plain
predicates (no tables, no parsing: patterns are built from known sets), and applies the
DST rules literally. Slow, obvious, independent of the engine's code.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

DayTest = Callable[[date], bool]


def _length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _cron_weekday(day: date) -> int:
    return day.isoweekday() % 7  # Sunday = 0


def _nearest_weekday(day: date, target: int) -> bool:
    """Quartz ``nW``, spelled out case by case."""
    if target > _length(day):
        return False
    wanted = date(day.year, day.month, target)
    if wanted.weekday() == 5:  # Saturday: Friday before, or Monday 3rd when it is the 1st
        wanted = wanted + timedelta(days=2) if target == 1 else wanted - timedelta(days=1)
    elif wanted.weekday() == 6:  # Sunday: Monday after, or Friday when it is the last day
        last = target == _length(day)
        wanted = wanted - timedelta(days=2) if last else wanted + timedelta(days=1)
    return day == wanted


def _last_weekday(day: date) -> bool:
    last = date(day.year, day.month, _length(day))
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return day == last


#: Day-of-month texts and what they mean (None: unrestricted).
DAY_OF_MONTH: dict[str, DayTest | None] = {
    "*": None,
    "?": None,
    "*/1": None,
    "1": lambda d: d.day == 1,
    "13": lambda d: d.day == 13,
    "1,15": lambda d: d.day in (1, 15),
    "29": lambda d: d.day == 29,
    "31": lambda d: d.day == 31,
    "L": lambda d: d.day == _length(d),
    "LW": _last_weekday,
    "15W": lambda d: _nearest_weekday(d, 15),
    "1W": lambda d: _nearest_weekday(d, 1),
    "*/5": lambda d: d.day % 5 == 1,
    "10-20/3": lambda d: d.day in (10, 13, 16, 19),
    "*/40": lambda d: d.day == 1,
}

#: Day-of-week texts and what they mean (None: unrestricted).
DAY_OF_WEEK: dict[str, DayTest | None] = {
    "*": None,
    "?": None,
    "0": lambda d: _cron_weekday(d) == 0,
    "7": lambda d: _cron_weekday(d) == 0,
    "MON-FRI": lambda d: d.weekday() < 5,
    "SAT,SUN": lambda d: d.weekday() >= 5,
    "*/2": lambda d: _cron_weekday(d) in (0, 2, 4, 6),
    "2/3": lambda d: _cron_weekday(d) in (2, 5),
    "*/9": lambda d: _cron_weekday(d) == 0,
    "5L": lambda d: d.weekday() == 4 and d.day + 7 > _length(d),
    "1#2": lambda d: d.weekday() == 0 and (d.day - 1) // 7 == 1,
    "0#5": lambda d: _cron_weekday(d) == 0 and (d.day - 1) // 7 == 4,
}


@dataclass(frozen=True)
class PatternModel:
    """A cron pattern built from known parts: its text and its meaning side by side."""

    minute_text: str
    minutes: frozenset[int]
    hour_text: str
    hours: frozenset[int]
    day_of_month: str
    month_text: str
    months: frozenset[int]
    day_of_week: str

    @property
    def text(self) -> str:
        fields = (
            self.minute_text,
            self.hour_text,
            self.day_of_month,
            self.month_text,
            self.day_of_week,
        )
        return " ".join(fields)

    @property
    def is_interval(self) -> bool:
        return self.minute_text.startswith("*") or self.hour_text.startswith("*")

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_month, by_week = DAY_OF_MONTH[self.day_of_month], DAY_OF_WEEK[self.day_of_week]
        if by_month is not None and by_week is not None:
            return by_month(day) or by_week(day)
        if by_month is not None:
            return by_month(day)
        if by_week is not None:
            return by_week(day)
        return True


def _offsets(wall: datetime, zone: tzinfo) -> tuple[timedelta, timedelta]:
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None and second is not None
    return first, second


def _after_gap(wall: datetime, zone: tzinfo) -> datetime:
    """Walk wall minutes forward until one exists: the first instant after the gap."""
    while True:
        wall += timedelta(minutes=1)
        first, second = _offsets(wall, zone)
        if first >= second:
            return (wall - first).replace(tzinfo=UTC)


def instants_of(wall: datetime, zone: tzinfo, interval: bool) -> list[datetime]:
    """The instants one matching wall minute stands for, under the DST rules."""
    first, second = _offsets(wall, zone)
    if first == second:
        return [(wall - first).replace(tzinfo=UTC)]
    if first < second:  # the wall time does not exist
        return [] if interval else [_after_gap(wall, zone)]
    passes = [first, second] if interval else [first]
    return [(wall - offset).replace(tzinfo=UTC) for offset in passes]


def reference_next(
    model: PatternModel, zone: tzinfo, after: datetime, horizon_days: int
) -> datetime | None:
    """First fire strictly after ``after``, or None within ``horizon_days``."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    best: datetime | None = None
    for _ in range(horizon_days):
        if best is not None and day > best.astimezone(zone).date() + timedelta(days=1):
            break
        if model.day_matches(day):
            for hour in sorted(model.hours):
                for minute in sorted(model.minutes):
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    for instant in instants_of(wall, zone, model.is_interval):
                        if instant > after and (best is None or instant < best):
                            best = instant
        day += timedelta(days=1)
    return best
