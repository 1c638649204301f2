"""``@every <duration>``: a real-time interval, counted from the event's start (anchor).

Durations use Go's ``time.ParseDuration`` syntax, as robfig/cron's ``@every`` did:
a sequence of decimal numbers, each with a unit (``ns us µs ms s m h``), e.g. ``90s``,
``1h30m``, ``1.5h``. Zone and DST play no part: the cadence is in real time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from onewatch.domain.schedule.errors import InvalidPattern

_TERM = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_MICROSECONDS = {
    "ns": Fraction(1, 1000),
    "us": Fraction(1),
    "µs": Fraction(1),
    "μs": Fraction(1),
    "ms": Fraction(1000),
    "s": Fraction(1_000_000),
    "m": Fraction(60_000_000),
    "h": Fraction(3_600_000_000),
}
_SHORTEST = timedelta(seconds=1)
_LONGEST = timedelta(days=366 * 100)


def parse_go_duration(text: str) -> timedelta:
    """A Go-style duration as a ``timedelta`` (microsecond precision, at least 1s)."""
    position, total = 0, Fraction(0)
    if not text:
        raise InvalidPattern("@every needs a duration such as 90s or 1h30m")
    while position < len(text):
        term = _TERM.match(text, position)
        if term is None:
            raise InvalidPattern(f"@every: {text!r} is not a duration (use e.g. 90s, 15m, 1h30m)")
        total += Fraction(term.group(1)) * _MICROSECONDS[term.group(2)]
        position = term.end()
    if total != int(total):
        raise InvalidPattern(f"@every: {text!r} is finer than a microsecond")
    interval = timedelta(microseconds=int(total)) if total < 10**17 else _LONGEST * 2
    if not _SHORTEST <= interval <= _LONGEST:
        raise InvalidPattern(f"@every: {text!r} is out of range 1s-{_LONGEST.days}d")
    return interval


@dataclass(frozen=True)
class EveryPattern:
    """Fires at ``anchor + k * interval`` for k = 0, 1, 2, ..."""

    text: str
    interval: timedelta

    def next_after(self, after: datetime, anchor: datetime) -> datetime:
        """The first ``anchor + k * interval`` strictly after ``after``."""
        if anchor > after:
            return anchor
        steps = (after - anchor) // self.interval + 1
        return anchor + steps * self.interval


def parse_every(text: str, argument: str) -> EveryPattern:
    """Parse the duration after ``@every``."""
    return EveryPattern(text, parse_go_duration(argument.strip()))
