"""A parsed 5-field cron pattern and the search for its next matching wall-clock minute.

Everything here works on naive wall times (the zone's local calendar); turning a wall
time into an instant, with the DST rules, is ``search.py``'s job.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Protocol

from onewatch.domain.schedule.days import DaySelector, parse_day_of_month, parse_day_of_week
from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.fields import HOUR, MINUTE, MONTH, parse_plain_field

#: A wall time as (year, month, day, hour, minute).
Wall = tuple[int, int, int, int, int]
_DAY_CACHE_LIMIT = 256


class DaysOfMonth(Protocol):
    """What the search asks of a pattern's day rule: the matching days of one month.

    ``DaySelector`` (the two day fields) is one; ``business.CalendarDays`` (the day fields
    passed through a business calendar) is another.
    """

    def days_of(self, year: int, month: int) -> tuple[int, ...]: ...


@lru_cache(maxsize=512)
def next_table(values: frozenset[int], size: int) -> tuple[int, ...]:
    """``table[i]`` = smallest value >= i, or -1; one extra slot so ``i`` may overflow.

    Cached: patterns share a handful of value sets (``*``, ``0``, ``*/15`` ...).
    """
    table: list[int] = []
    for value in sorted(values):
        table.extend([value] * (value + 1 - len(table)))
    table.extend([-1] * (size + 1 - len(table)))
    return tuple(table)


@dataclass(frozen=True, eq=False)
class CronPattern:
    """A validated cron pattern, with lookup tables that make the search cheap.

    ``is_interval`` is Vixie cron's DST classification: the minute or hour field starts
    with ``*`` (repeated wall times fire twice, skipped ones never); otherwise the pattern
    is fixed-time (skipped wall times fire right after the gap, repeated ones once).
    """

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    days: DaysOfMonth
    is_interval: bool
    _next_minute: tuple[int, ...] = field(repr=False)
    _next_hour: tuple[int, ...] = field(repr=False)
    _next_month: tuple[int, ...] = field(repr=False)
    #: Years past ``after`` a search gives up after (None: the engine's own bound).
    horizon_years: int | None = None
    _day_cache: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)

    def days_of(self, year: int, month: int) -> tuple[int, ...]:
        """Matching days of a month (cached: the scheduler asks about the same months)."""
        key = year * 12 + month
        days = self._day_cache.get(key)
        if days is None:
            if len(self._day_cache) >= _DAY_CACHE_LIMIT:
                self._day_cache.clear()
            days = self._day_cache[key] = self.days.days_of(year, month)
        return days

    def first_wall_from(self, start: Wall, last_year: int) -> Wall | None:
        """The first matching wall minute at or after ``start`` (None after ``last_year``)."""
        year, month, day, hour, minute = start
        next_month, next_hour, next_minute = self._next_month, self._next_hour, self._next_minute
        while year <= last_year:
            if next_month[month] != month:
                month, day, hour, minute = next_month[month], 1, 0, 0
                if month < 0:
                    year, month = year + 1, next_month[1]
                continue
            days = self.days_of(year, month)
            i = bisect_left(days, day)
            if i == len(days):
                month, day, hour, minute = month + 1, 1, 0, 0
                continue
            if days[i] != day:
                day, hour, minute = days[i], 0, 0
            found_hour = next_hour[hour]
            if found_hour < 0:
                day, hour, minute = day + 1, 0, 0
                continue
            if found_hour != hour:
                hour, minute = found_hour, 0
            found_minute = next_minute[minute]
            if found_minute < 0:
                hour, minute = hour + 1, 0
                continue
            return year, month, day, hour, found_minute
        return None

    def first_wall_after(self, wall: datetime, last_year: int) -> datetime | None:
        """The first matching wall minute strictly after ``wall`` (which may have seconds)."""
        start = (wall.year, wall.month, wall.day, wall.hour, wall.minute + 1)
        found = self.first_wall_from(start, last_year)  # minute 60 carries via the tables
        return None if found is None else datetime(*found)

    def first_wall_at_or_after(self, wall: datetime, last_year: int) -> datetime | None:
        """The first matching wall minute at or after ``wall``'s minute."""
        start = (wall.year, wall.month, wall.day, wall.hour, wall.minute)
        found = self.first_wall_from(start, last_year)
        return None if found is None else datetime(*found)


def parse_cron(text: str) -> CronPattern:
    """Parse a 5-field pattern (``?`` already allowed anywhere as ``*``)."""
    parts = text.split()
    if len(parts) != 5:
        raise InvalidPattern(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    parts = ["*" + part[1:] if part.startswith("?") else part for part in parts]
    minute_text, hour_text, dom_text, month_text, dow_text = parts
    minutes = parse_plain_field(minute_text, MINUTE)
    hours = parse_plain_field(hour_text, HOUR)
    months = parse_plain_field(month_text, MONTH)
    days = DaySelector(parse_day_of_month(dom_text), parse_day_of_week(dow_text))
    reason = days.never_fires_in(months)
    if reason is not None:
        raise InvalidPattern(reason)
    return CronPattern(
        text=" ".join(parts),
        minutes=minutes,
        hours=hours,
        months=months,
        days=days,
        is_interval=minute_text.startswith("*") or hour_text.startswith("*"),
        _next_minute=next_table(minutes, 60),
        _next_hour=next_table(hours, 24),
        _next_month=next_table(months, 13),
    )
