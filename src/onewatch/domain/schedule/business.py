"""Business calendars: which dates are business days, and how a cron pattern follows them.

A ``BusinessCalendar`` is a value: a country's (and subdivision's) public holidays from
the ``holidays`` package (rules computed in memory, no I/O), a weekend, dates forced off
(``exclude``) and dates forced on (``include``, e.g. a working Saturday). ``include``
wins over everything, then ``exclude``, the weekend and the holidays make a day off.

A calendar acts on a cron pattern at the level of *days*; the times of day stay the
pattern's, and turning wall times into instants keeps the DST rules of ``search``:

- ``skip``: a matching day that is not a business day does not fire;
- ``next`` / ``previous``: the occurrences of such a day move to the same wall times on
  the next / previous business day. A business day fires at most once per wall time:
  occurrences moved onto a day that has its own, or that several off days move to, are
  merged into one;
- ``business_day = N``: the N-th business day of each month the pattern's month field
  allows (negative counts from the end: -1 is the last), at the pattern's times of day.

``CalendarDays`` puts that rule where a cron pattern keeps its day fields, so the search
for the next fire, and its DST handling, does not change.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType, ModuleType
from typing import Any

from onewatch.domain.schedule.cron import CronPattern, next_table
from onewatch.domain.schedule.days import DaySelector
from onewatch.domain.schedule.errors import InvalidPattern

#: Monday = 0 ... Sunday = 6, as ``date.weekday()``.
WEEKDAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
DEFAULT_WEEKEND = frozenset({5, 6})
#: The most business days a month can have (31 days, no weekend at all).
MAX_BUSINESS_DAY = 31
#: How far ahead a calendar-aware search looks before it says "never": a pattern that
#: fires on some business day fires within a few years (Feb 29 comes back on every
#: weekday within 28 years), and an endless search would block the caller.
SEARCH_YEARS = 60
_ONE_DAY = timedelta(days=1)
#: Beyond this many consecutive days off, a move gives up (the day is skipped instead).
_LONGEST_RUN_OFF = 400


class NonBusinessDay(StrEnum):
    """What happens to an occurrence that falls on a day that is not a business day."""

    SKIP = "skip"
    NEXT = "next"
    PREVIOUS = "previous"


@lru_cache(maxsize=2048)
def _holidays_in(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The public holidays of one year, by date (their names, for explanations)."""
    holidays = _holidays_package()
    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return MappingProxyType(dict(found.items()))


def _holidays_package() -> ModuleType:
    """``holidays``, imported on first use: its import is slow and large (BENCHMARKS.md,
    "Business calendars"), a cost a node whose services use no holidays need not pay."""
    import holidays

    return holidays


def supported_countries() -> Mapping[str, list[str]]:
    """Country codes the ``holidays`` package knows, with their subdivision codes."""
    countries: Mapping[str, list[str]] = _holidays_package().list_supported_countries()
    return countries


def holiday_rules_problem(country: str, subdivision: str | None) -> tuple[str, str] | None:
    """(field, reason) when the ``holidays`` package has no such country or subdivision."""
    countries = supported_countries()
    if country not in countries:
        return "country", f"{country!r} is not a supported country code (ISO 3166-1 alpha-2)"
    if subdivision is None:
        return None
    try:
        _holidays_package().country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        known = ", ".join(countries[country]) or "none"
        return "subdivision", f"{subdivision!r} is not a subdivision of {country} (known: {known})"
    return None


def _holiday_days(country: str, subdivision: str | None, year: int, month: int) -> frozenset[int]:
    return _holidays_by_month(country, subdivision, year).get(month, _NONE)


@lru_cache(maxsize=2048)
def _holidays_by_month(
    country: str, subdivision: str | None, year: int
) -> Mapping[int, frozenset[int]]:
    grouped: dict[int, set[int]] = {}
    for day in _holidays_in(country, subdivision, year):
        grouped.setdefault(day.month, set()).add(day.day)
    return MappingProxyType({month: frozenset(days) for month, days in grouped.items()})


def _by_month(days: frozenset[date]) -> dict[tuple[int, int], frozenset[int]]:
    grouped: dict[tuple[int, int], set[int]] = {}
    for day in days:
        grouped.setdefault((day.year, day.month), set()).add(day.day)
    return {month: frozenset(numbers) for month, numbers in grouped.items()}


_NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class BusinessCalendar:
    """Which dates are business days (hashable, so compiled schedules can be cached)."""

    country: str | None = None
    subdivision: str | None = None
    exclude: frozenset[date] = frozenset()
    include: frozenset[date] = frozenset()
    weekend: frozenset[int] = DEFAULT_WEEKEND
    #: ``exclude`` and ``include`` by (year, month): a month's days are looked up, not
    #: searched for among every date the calendar lists.
    _exclude_by_month: dict[tuple[int, int], frozenset[int]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _include_by_month: dict[tuple[int, int], frozenset[int]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exclude_by_month", _by_month(self.exclude))
        object.__setattr__(self, "_include_by_month", _by_month(self.include))

    def holiday_name(self, day: date) -> str | None:
        if self.country is None:
            return None
        return _holidays_in(self.country, self.subdivision, day.year).get(day)

    def is_business_day(self, day: date) -> bool:
        if day in self.include:
            return True
        if day in self.exclude or day.weekday() in self.weekend:
            return False
        return self.holiday_name(day) is None

    def why_not_business(self, day: date) -> str | None:
        """Why ``day`` is off ("excluded", "weekend (SAT)", "holiday: ..."), None if it is not."""
        if day in self.include:
            return None
        if day in self.exclude:
            return "excluded"
        if day.weekday() in self.weekend:
            return f"weekend ({WEEKDAY_NAMES[day.weekday()]})"
        name = self.holiday_name(day)
        return None if name is None else f"holiday: {name}"

    def business_days_of(self, year: int, month: int) -> tuple[int, ...]:
        """The business days of one month, ascending (the search asks for many months)."""
        return _business_days(self, year, month)

    def _month_of_days(self, year: int, month: int) -> tuple[int, ...]:
        first_weekday, length = month_calendar.monthrange(year, month)
        forced = self._include_by_month.get((year, month), _NONE)
        off = self._exclude_by_month.get((year, month), _NONE)
        if self.country is not None:
            off = off | _holiday_days(self.country, self.subdivision, year, month)
        weekend = self.weekend
        return tuple(
            day
            for day in range(1, length + 1)
            if day in forced or not (day in off or (first_weekday + day - 1) % 7 in weekend)
        )


@lru_cache(maxsize=8192)
def _business_days(calendar: BusinessCalendar, year: int, month: int) -> tuple[int, ...]:
    return calendar._month_of_days(year, month)


@dataclass(frozen=True, eq=False)
class CalendarDays:
    """A pattern's day rule passed through a business calendar (see the module's rules)."""

    base: CronPattern
    calendar: BusinessCalendar
    rule: NonBusinessDay = NonBusinessDay.SKIP
    business_day: int | None = None
    _matched: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)

    def base_matches(self, day: date) -> bool:
        """The pattern without the calendar fires on ``day`` (its day and month fields)."""
        if day.month not in self.base.months:
            return False
        key = day.year * 12 + day.month
        days = self._matched.get(key)
        if days is None:
            if len(self._matched) >= 256:
                self._matched.clear()
            days = self._matched[key] = frozenset(self.base.days_of(day.year, day.month))
        return day.day in days

    def days_of(self, year: int, month: int) -> tuple[int, ...]:
        if self.business_day is not None:
            return self._nth_business_day(year, month)
        business = self.calendar.business_days_of(year, month)
        own = frozenset(self.base.days_of(year, month)) if month in self.base.months else _NONE
        if self.rule is NonBusinessDay.SKIP:
            return tuple(d for d in business if d in own)
        return tuple(d for d in business if d in own or self._moved_onto_day(year, month, d))

    def _nth_business_day(self, year: int, month: int) -> tuple[int, ...]:
        assert self.business_day is not None
        if month not in self.base.months:
            return ()
        business = self.calendar.business_days_of(year, month)
        index = self.business_day - 1 if self.business_day > 0 else self.business_day
        if -len(business) <= index < len(business):
            return (business[index],)
        return ()

    def _moved_onto_day(self, year: int, month: int, day: int) -> bool:
        """A business day without a match of its own takes one moved onto it."""
        step = -_ONE_DAY if self.rule is NonBusinessDay.NEXT else _ONE_DAY
        return self._moved_onto(date(year, month, day), step)

    def _moved_onto(self, day: date, step: timedelta) -> bool:
        """A matching day in the run of days off just before (``next``) or after it."""
        other = day
        for _ in range(_LONGEST_RUN_OFF):
            try:
                other += step
            except OverflowError:
                return False
            if self.calendar.is_business_day(other):
                return False
            if self.base_matches(other):
                return True
        return False


_ALL_MONTHS = frozenset(range(1, 13))


def follow_calendar(
    pattern: CronPattern,
    calendar: BusinessCalendar,
    rule: NonBusinessDay = NonBusinessDay.SKIP,
    business_day: int | None = None,
) -> CronPattern:
    """``pattern`` with its days chosen through ``calendar``; times, DST class unchanged.

    Moves can cross into a month the pattern's month field leaves out (the 31st of
    December moves into January), so with ``next``/``previous`` the month field is kept
    inside ``CalendarDays`` and the walk visits every month.
    """
    if business_day is not None:
        _check_business_day(pattern, business_day)
    days = CalendarDays(pattern, calendar, rule, business_day)
    moves = business_day is None and rule is not NonBusinessDay.SKIP
    months = _ALL_MONTHS if moves else pattern.months
    return replace(
        pattern,
        days=days,
        months=months,
        _next_month=next_table(months, 13),
        _day_cache={},
        horizon_years=SEARCH_YEARS,
    )


def _check_business_day(pattern: CronPattern, business_day: int) -> None:
    if business_day == 0 or abs(business_day) > MAX_BUSINESS_DAY:
        raise InvalidPattern(
            f"must be 1 to {MAX_BUSINESS_DAY} or -1 to -{MAX_BUSINESS_DAY}, got {business_day}",
            field="businessDay",
        )
    selector = pattern.days
    if not isinstance(selector, DaySelector) or (
        selector.of_month.restricted or selector.of_week.restricted
    ):
        raise InvalidPattern(
            "chooses the day of the month itself: the pattern's day-of-month and "
            "day-of-week fields must be * or ?",
            field="businessDay",
        )


def calendar_from_rules(rules: Mapping[str, Any]) -> BusinessCalendar:
    """A calendar from its stored JSON form (``CalendarDocument.rules``)."""
    holiday_rules = rules.get("holidays") or {}
    return _calendar(
        holiday_rules.get("country"),
        holiday_rules.get("subdivision"),
        tuple(rules.get("exclude", ())),
        tuple(rules.get("include", ())),
        tuple(rules.get("weekend", ("SAT", "SUN"))),
    )


@lru_cache(maxsize=1024)  # the scheduler rebuilds the same few calendars for every fire
def _calendar(
    country: str | None,
    subdivision: str | None,
    exclude: tuple[str, ...],
    include: tuple[str, ...],
    weekend: tuple[str, ...],
) -> BusinessCalendar:
    return BusinessCalendar(
        country,
        subdivision,
        frozenset(date.fromisoformat(day) for day in exclude),
        frozenset(date.fromisoformat(day) for day in include),
        frozenset(WEEKDAY_NAMES.index(name) for name in weekend),
    )


@dataclass(frozen=True)
class DayOff:
    """An occurrence of the pattern alone that falls on a day off, and what became of it."""

    occurrence: datetime
    day: date
    reason: str
    #: The business day it moved to (``next``/``previous``); None when skipped.
    moved_to: date | None


def days_off(
    plain_fires: Iterable[datetime],
    zone: tzinfo,
    calendar: BusinessCalendar,
    rule: NonBusinessDay = NonBusinessDay.SKIP,
) -> list[DayOff]:
    """Why each fire of the pattern without the calendar did not fire as it was (preview)."""
    found: list[DayOff] = []
    for moment in plain_fires:
        day = moment.astimezone(zone).date()
        reason = calendar.why_not_business(day)
        if reason is not None:
            found.append(DayOff(moment, day, reason, _moved_to(day, calendar, rule)))
    return found


def _moved_to(day: date, calendar: BusinessCalendar, rule: NonBusinessDay) -> date | None:
    if rule is NonBusinessDay.SKIP:
        return None
    step = _ONE_DAY if rule is NonBusinessDay.NEXT else -_ONE_DAY
    for _ in range(_LONGEST_RUN_OFF):
        day += step
        if calendar.is_business_day(day):
            return day
    return None


def calendar_fields(columns: Mapping[Any, Any]) -> dict[str, Any]:
    """``ScheduleSpec``'s calendar arguments from an event's stored columns
    (``calendar_rules``, ``non_business_day``, ``business_day``); none without a calendar."""
    rules = columns.get("calendar_rules")
    if rules is None:
        return {}
    rule = columns.get("non_business_day")
    return {
        "calendar": calendar_from_rules(rules),
        "non_business_day": None if rule is None else NonBusinessDay(rule),
        "business_day": columns.get("business_day"),
    }
