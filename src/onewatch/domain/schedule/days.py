"""The day fields (day-of-month, day-of-week), including ``L``, ``W``, ``LW``, ``nL``, ``n#k``.

Days follow robfig/cron: a day field is restricted unless it is ``*``, ``?`` or ``*/1``;
when both are restricted a day matches if EITHER matches, otherwise the restricted one
decides. The set of matching days of a month is computed once per (year, month).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from onewatch.domain.schedule.fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    is_unrestricted,
    parse_item,
    parse_value,
)

_NEAREST_WEEKDAY = re.compile(r"([0-9]+)W")
_LAST_WEEKDAY_OF = re.compile(r"([0-9A-Za-z]+)L")
_NTH_WEEKDAY = re.compile(r"([0-9A-Za-z]+)#([0-9]+)")
#: Longest each month can be (February: 29, in leap years).
MONTH_MAX_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ALL_DAYS = {length: tuple(range(1, length + 1)) for length in (28, 29, 30, 31)}


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return MONTH_MAX_DAYS[month]


@dataclass(frozen=True)
class DayOfMonth:
    """What the day-of-month field selects."""

    restricted: bool
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: frozenset[int] = frozenset()  # nW

    def matches(self, year: int, month: int, length: int) -> set[int]:
        """Days of this month selected by the field."""
        chosen = {day for day in self.days if day <= length}
        if self.last:
            chosen.add(length)
        if self.last_weekday:
            chosen.add(_nearest_weekday(year, month, length, length))
        chosen.update(
            _nearest_weekday(year, month, day, length)
            for day in self.nearest_weekday
            if day <= length
        )
        return chosen

    def smallest_day(self) -> int:
        """The smallest day number this field can need (1 for ``L``/``LW``)."""
        if self.last or self.last_weekday:
            return 1
        return min(self.days | self.nearest_weekday)


@dataclass(frozen=True)
class DayOfWeek:
    """What the day-of-week field selects (0 = Sunday)."""

    restricted: bool
    weekdays: frozenset[int] = frozenset()
    last_of: frozenset[int] = frozenset()  # nL: last weekday n of the month
    nth: frozenset[tuple[int, int]] = frozenset()  # n#k: k-th weekday n of the month

    def matches(self, first_weekday: int, length: int) -> set[int]:
        """Days of a month whose day 1 falls on ``first_weekday`` (0 = Sunday)."""
        chosen: set[int] = set()
        for weekday in self.weekdays:
            chosen.update(range(1 + (weekday - first_weekday) % 7, length + 1, 7))
        for weekday in self.last_of:
            first = 1 + (weekday - first_weekday) % 7
            chosen.add(first + 7 * ((length - first) // 7))
        for weekday, k in self.nth:
            day = 1 + (weekday - first_weekday) % 7 + 7 * (k - 1)
            if day <= length:
                chosen.add(day)
        return chosen


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The Monday-Friday day nearest ``day``, never leaving the month (Quartz's ``W``)."""
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < length else day - 2
    return day


def parse_day_of_month(text: str) -> DayOfMonth:
    """Parse the day-of-month field."""
    if is_unrestricted(text):
        return DayOfMonth(restricted=False)
    days: set[int] = set()
    nearest: set[int] = set()
    last = last_weekday = False
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            last = True
        elif upper == "LW":
            last_weekday = True
        elif match := _NEAREST_WEEKDAY.fullmatch(upper):
            nearest.add(parse_value(match.group(1), DAY_OF_MONTH))
        else:
            days |= parse_item(item, DAY_OF_MONTH)
    return DayOfMonth(True, frozenset(days), last, last_weekday, frozenset(nearest))


def _parse_weekday(token: str) -> int:
    return parse_value(token, DAY_OF_WEEK) % 7


def _parse_nth(match: re.Match[str]) -> tuple[int, int]:
    weekday = _parse_weekday(match.group(1))
    k = int(match.group(2)) if match.group(2).isascii() else 0
    if not 1 <= k <= 5:
        raise DAY_OF_WEEK.fail(f"#{match.group(2)} is out of range 1-5")
    return weekday, k


def parse_day_of_week(text: str) -> DayOfWeek:
    """Parse the day-of-week field (7 is Sunday, like 0)."""
    if is_unrestricted(text):
        return DayOfWeek(restricted=False)
    weekdays: set[int] = set()
    last_of: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            raise DAY_OF_WEEK.fail("'L' needs a weekday before it (5L = last Friday)")
        if match := _LAST_WEEKDAY_OF.fullmatch(upper):
            last_of.add(_parse_weekday(match.group(1)))
        elif match := _NTH_WEEKDAY.fullmatch(upper):
            nth.add(_parse_nth(match))
        else:
            weekdays |= {value % 7 for value in parse_item(item, DAY_OF_WEEK)}
    return DayOfWeek(True, frozenset(weekdays), frozenset(last_of), frozenset(nth))


@dataclass(frozen=True)
class DaySelector:
    """Both day fields together, with robfig's either/or rule."""

    of_month: DayOfMonth
    of_week: DayOfWeek

    def days_of(self, year: int, month: int) -> tuple[int, ...]:
        """The matching days of one month, ascending."""
        length = _month_length(year, month)
        dom, dow = self.of_month, self.of_week
        if not (dom.restricted or dow.restricted):
            return _ALL_DAYS[length]
        first_weekday = date(year, month, 1).isoweekday() % 7
        if dom.restricted and dow.restricted:
            chosen = dom.matches(year, month, length) | dow.matches(first_weekday, length)
        elif dom.restricted:
            chosen = dom.matches(year, month, length)
        else:
            chosen = dow.matches(first_weekday, length)
        return tuple(sorted(chosen))

    def never_fires_in(self, months: frozenset[int]) -> str | None:
        """Why no day of ``months`` can ever match, or None when some day can."""
        if self.of_week.restricted or not self.of_month.restricted:
            return None
        smallest = self.of_month.smallest_day()
        if any(MONTH_MAX_DAYS[month] >= smallest for month in months):
            return None
        names = ", ".join(calendar.month_abbr[month] for month in sorted(months))
        return f"never fires: no day {smallest} in {names}"
