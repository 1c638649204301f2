"""From wall times to instants: the next fire of a cron pattern in a zone, with DST rules.

The rules (Vixie cron's, as Debian cron and cronie document them):

- fixed-time pattern: a wall time inside a spring-forward gap fires once, at the first
  instant after the gap; a wall time that occurs twice fires once, at its first
  occurrence;
- interval pattern: wall times inside a gap are skipped; a repeated wall time fires in
  both passes.

The search walks matching wall minutes in calendar order and turns each into the
instants it stands for. Calendar order equals instant order except inside a repeated
hour, which is handled explicitly: when ``after`` lies in the repeated hour's first
pass, an interval pattern's second-pass fires come next; when it lies in the second
pass, the first-pass wall times later than it have already happened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from onewatch.domain.schedule.cron import CronPattern

_NEAR = timedelta(hours=26)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: After the last explicit transition (tzdata stores them up to 2037) a zone's rules
#: repeat with the 400-year Gregorian cycle: a search that long finds nothing, ever.
_RULES_SETTLED_YEAR = 2100
_CYCLE_YEARS = 401
_LAST_YEAR = 9998


def _last_year(after: datetime, horizon_years: int | None = None) -> int:
    if horizon_years is not None:
        return min(after.year + horizon_years, _LAST_YEAR)
    return min(max(after.year, _RULES_SETTLED_YEAR) + _CYCLE_YEARS, _LAST_YEAR)


def _offsets(wall: datetime, zone: tzinfo) -> tuple[timedelta, timedelta]:
    """UTC offsets of a naive wall time read as its first (fold 0) and second pass (fold 1).

    Equal: an ordinary wall time. fold 0 < fold 1: inside a gap (PEP 495 gives the
    offsets before and after it). fold 0 > fold 1: a wall time that occurs twice.
    Fast path: when the offset is the same 26 hours before and after, the wall time is
    taken as ordinary and the costly fold-1 probe is skipped. This assumes no zone
    changes its offset and changes it back within 52 hours, and that no gap or repeat
    lasts 26 hours or more (the longest in tzdata, Samoa's skipped day in 2011, is 24).
    ``datetime.replace`` is avoided on purpose: it is several times slower than building
    a datetime.
    """
    first = zone.utcoffset(wall)
    assert first is not None
    if zone.utcoffset(wall - _NEAR) == first == zone.utcoffset(wall + _NEAR):
        return first, first
    probe = datetime(
        wall.year,
        wall.month,
        wall.day,
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond,
        None,
        fold=1,
    )
    second = zone.utcoffset(probe)
    assert second is not None
    return first, second


def _instant(wall: datetime, offset: timedelta) -> datetime:
    return (
        datetime(
            wall.year,
            wall.month,
            wall.day,
            wall.hour,
            wall.minute,
            wall.second,
            wall.microsecond,
            UTC,
        )
        - offset
    )


def _offset_at(seconds: int, zone: tzinfo) -> timedelta | None:
    return datetime.fromtimestamp(seconds, zone).utcoffset()


def gap_end(wall: datetime, zone: tzinfo, before: timedelta, after: timedelta) -> datetime:
    """The first instant after the gap that swallows ``wall`` (bisection on seconds).

    The transition lies in ``(wall - after, wall - before]``; tzdata transitions fall on
    whole seconds.
    """
    low = int((_instant(wall, after) - _EPOCH).total_seconds())
    high = int((_instant(wall, before) - _EPOCH).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(middle, zone) == before:
            low = middle
        else:
            high = middle
    return _EPOCH + timedelta(seconds=high)


def _naive(moment: datetime) -> datetime:
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


def next_cron_fire(pattern: CronPattern, zone: tzinfo, after: datetime) -> datetime | None:
    """The first fire of ``pattern`` in ``zone`` strictly after the aware ``after``."""
    local = after if after.tzinfo is zone else after.astimezone(zone)
    last_year = _last_year(local, pattern.horizon_years)
    if zone is UTC:
        start = (local.year, local.month, local.day, local.hour, local.minute + 1)
        found = pattern.first_wall_from(start, last_year)
        return None if found is None else datetime(*found, 0, 0, UTC)
    wall = _naive(local)
    first, second = _offsets(wall, zone)
    if first > second:  # ``after`` lies in a repeated hour
        repeat = first - second
        if local.fold == 1:
            return _walk(pattern, zone, wall, last_year, second_pass_until=wall + repeat)
        if pattern.is_interval:
            return _from_first_pass(pattern, zone, wall, repeat, last_year)
    return _walk(pattern, zone, wall, last_year)


def _walk(
    pattern: CronPattern,
    zone: tzinfo,
    wall: datetime,
    last_year: int,
    second_pass_until: datetime | None = None,
) -> datetime | None:
    """Matching wall minutes after ``wall``, in order, until one stands for an instant.

    ``second_pass_until``: ``after`` is in the second pass of a repeated hour; repeated
    wall times before this bound have had their first pass already.
    """
    candidate = pattern.first_wall_after(wall, last_year)
    while candidate is not None:
        first, second = _offsets(candidate, zone)
        if first == second:
            return _instant(candidate, first)
        if first < second:  # in a gap
            if not pattern.is_interval:
                return gap_end(candidate, zone, first, second)
        elif second_pass_until is None or candidate >= second_pass_until:
            return _instant(candidate, first)
        elif pattern.is_interval:
            return _instant(candidate, second)
        candidate = pattern.first_wall_after(candidate, last_year)
    return None


def _from_first_pass(
    pattern: CronPattern, zone: tzinfo, wall: datetime, repeat: timedelta, last_year: int
) -> datetime | None:
    """Interval pattern, ``after`` in a repeated hour's first pass.

    Next in time: a later first-pass wall time, else the earliest matching wall time of
    the second pass (even one at or before ``wall``), else whatever follows the hour.
    """
    candidate = pattern.first_wall_after(wall, last_year)
    if candidate is not None and candidate - wall < repeat:
        first, second = _offsets(candidate, zone)
        if first > second:
            return _instant(candidate, first)
    again = pattern.first_wall_at_or_after(wall - repeat, last_year)
    while again is not None and again <= wall:
        first, second = _offsets(again, zone)
        if first > second:
            return _instant(again, second)
        again = pattern.first_wall_after(again, last_year)
    return _walk(pattern, zone, wall, last_year)
