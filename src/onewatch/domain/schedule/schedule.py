"""The event-level schedule: a pattern in a zone, with separation, a fire limit and a window.

``compile_schedule`` validates everything once and keeps the parsed pattern, so that
``Schedule.next_fire`` (called by the scheduler for every due event) does no parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from onewatch.domain.schedule.business import BusinessCalendar, NonBusinessDay, follow_calendar
from onewatch.domain.schedule.cron import CronPattern
from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.every import EveryPattern
from onewatch.domain.schedule.oneshot import OneShot
from onewatch.domain.schedule.patterns import ParsedPattern, parse_pattern, parse_pattern_cached
from onewatch.domain.schedule.search import next_cron_fire
from onewatch.domain.schedule.zones import normalize_timezone, zone_info

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class ScheduleSpec:
    """What an event says about *when*, before validation.

    ``separation``: fire every N-th match (0 or None means 1). ``anchor``: the event's
    start, from which ``@every`` counts (default ``start_at``, else the ``after`` of the
    first ``next_fire`` call). ``calendar``: the business calendar the days follow, with
    ``non_business_day`` (default skip) and ``business_day`` (see ``business``).
    """

    pattern: str
    timezone: str = "UTC"
    separation: int | None = 1
    max_occurrences: int | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    anchor: datetime | None = None
    calendar: BusinessCalendar | None = None
    non_business_day: NonBusinessDay | None = None
    business_day: int | None = None


def _require_aware(moment: datetime | None, field: str) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise InvalidPattern("needs a time zone offset (e.g. Z or +02:00)", field=field)


def resolve_zone(parsed: ParsedPattern, timezone: str) -> str:
    """The event's zone; a ``CRON_TZ=``/``TZ=`` prefix naming another zone is an error."""
    zone = normalize_timezone(timezone)
    if parsed.zone is not None and parsed.zone != zone:
        raise InvalidPattern(
            f"{zone!r} conflicts with the pattern's zone prefix {parsed.zone!r}",
            field="timezone",
        )
    return zone


def match_after(
    parsed: ParsedPattern, zone: tzinfo, after: datetime, anchor: datetime
) -> datetime | None:
    """The first match of the pattern strictly after ``after`` (no event-level rules)."""
    rule = parsed.rule
    try:
        if isinstance(rule, CronPattern):
            return next_cron_fire(rule, zone, after)
        if isinstance(rule, EveryPattern):
            return rule.next_after(after, anchor).astimezone(UTC)
    except OverflowError:  # past year 9999
        return None
    instant = rule.instant_in(zone)
    return instant if instant > after else None


@dataclass(frozen=True)
class Schedule:
    """A validated schedule; ``spec.timezone`` is the normalised zone."""

    spec: ScheduleSpec
    pattern: ParsedPattern
    zone: tzinfo

    @property
    def is_one_shot(self) -> bool:
        """True when the pattern is a single ISO-8601 instant."""
        return isinstance(self.pattern.rule, OneShot)

    def next_fire(self, after: datetime, fired_so_far: int) -> datetime | None:
        """The next fire (aware UTC), or None when the schedule is over.

        With nothing fired yet: the first match strictly after ``max(after, just before
        start_at)``. Otherwise ``after`` is the previous fire, and the answer is the
        ``separation``-th match after it.
        """
        spec = self.spec
        if after.tzinfo is None:
            raise ValueError("after: naive datetime; an instant needs a time zone")
        if spec.max_occurrences is not None and fired_so_far >= spec.max_occurrences:
            return None
        if fired_so_far and self.is_one_shot:
            return None
        anchor = spec.anchor or spec.start_at or after
        if fired_so_far == 0:
            if spec.start_at is not None and after < spec.start_at:
                after = spec.start_at - _JUST_BEFORE
            moment = match_after(self.pattern, self.zone, after, anchor)
        else:
            moment = self._nth_match_after(after, anchor, spec.separation or 1)
        if moment is None or (spec.end_at is not None and moment > spec.end_at):
            return None
        return moment

    def _nth_match_after(self, after: datetime, anchor: datetime, n: int) -> datetime | None:
        moment: datetime | None = after
        for _ in range(n):
            assert moment is not None
            moment = match_after(self.pattern, self.zone, moment, anchor)
            if moment is None:
                return None
        return moment

    def upcoming(self, after: datetime, fired_so_far: int, count: int) -> list[datetime]:
        """The next ``count`` fires (fewer when the schedule ends first)."""
        fires: list[datetime] = []
        moment: datetime | None = after
        while len(fires) < count and moment is not None:
            moment = self.next_fire(moment, fired_so_far + len(fires))
            if moment is not None:
                fires.append(moment)
        return fires


def _check_counts(spec: ScheduleSpec) -> int:
    separation = spec.separation or 0
    if not isinstance(separation, int) or separation < 0:
        raise InvalidPattern(
            f"must be a whole number >= 0, got {spec.separation!r}", field="separation"
        )
    limit = spec.max_occurrences
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise InvalidPattern(f"must be at least 1, got {limit!r}", field="maxOccurrences")
    return separation or 1


def _check_window(spec: ScheduleSpec) -> None:
    _require_aware(spec.start_at, "startAt")
    _require_aware(spec.end_at, "endAt")
    _require_aware(spec.anchor, "startAt")
    if spec.start_at is not None and spec.end_at is not None and spec.end_at <= spec.start_at:
        raise InvalidPattern(
            f"{spec.end_at.isoformat()} is not after startAt {spec.start_at.isoformat()}",
            field="endAt",
        )


def _with_calendar(parsed: ParsedPattern, spec: ScheduleSpec) -> ParsedPattern:
    """The pattern with its days passed through the spec's business calendar, if any."""
    if spec.calendar is None:
        for given, field in (
            (spec.business_day, "businessDay"),
            (spec.non_business_day, "nonBusinessDay"),
        ):
            if given is not None:
                raise InvalidPattern("needs a calendar (schedulingPattern.calendar)", field=field)
        return parsed
    if not isinstance(parsed.rule, CronPattern):
        raise InvalidPattern(
            "a calendar chooses days: it needs a cron pattern or descriptor, not @every or "
            "a one-shot instant",
            field="calendar",
        )
    rule = spec.non_business_day or NonBusinessDay.SKIP
    if spec.business_day is not None and spec.non_business_day not in (None, NonBusinessDay.SKIP):
        raise InvalidPattern(
            "businessDay always lands on a business day: nothing to move", field="nonBusinessDay"
        )
    derived = follow_calendar(parsed.rule, spec.calendar, rule, spec.business_day)
    return ParsedPattern(parsed.text, derived, parsed.zone)


def compile_schedule(spec: ScheduleSpec) -> Schedule:
    """Validate a whole schedule once; raise ``InvalidPattern`` naming the field at fault."""
    parsed = _with_calendar(parse_pattern(spec.pattern), spec)
    zone = resolve_zone(parsed, spec.timezone)
    separation = _check_counts(spec)
    _check_window(spec)
    # Built directly: ``dataclasses.replace`` costs more than the rest of a compile.
    spec = ScheduleSpec(
        spec.pattern,
        zone,
        separation,
        spec.max_occurrences,
        spec.start_at,
        spec.end_at,
        spec.anchor,
        spec.calendar,
        spec.non_business_day,
        spec.business_day,
    )
    return Schedule(spec, parsed, zone_info(zone))


def next_occurrence(pattern: str, timezone: str, after: datetime) -> datetime | None:
    """The first fire strictly after ``after`` (any aware datetime), as an aware UTC datetime.

    ``@every`` counts from ``after``; a one-shot already past gives None.
    """
    if after.utcoffset() is None:
        raise ValueError("after: naive datetime; an instant needs a time zone")
    parsed = parse_pattern_cached(pattern)
    zone = resolve_zone(parsed, timezone)
    return match_after(parsed, zone_info(zone), after, after)
