"""One-shot schedules: an ISO-8601 instant in place of a pattern.

With ``Z`` or an offset the instant is exact; a naive date-time is a wall time in the
event's zone, resolved with the fixed-time DST rule (a time inside a gap means the first
instant after it; a time that occurs twice means its first occurrence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.search import gap_end

_LOOKS_LIKE_INSTANT = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}(?:[T ]|$)")


def looks_like_instant(text: str) -> bool:
    """True when the text starts like an ISO date, so it is read as a one-shot."""
    return _LOOKS_LIKE_INSTANT.match(text) is not None


@dataclass(frozen=True)
class OneShot:
    """A single fire at ``moment`` (aware, or naive = wall time in the event's zone)."""

    text: str
    moment: datetime

    def instant_in(self, zone: tzinfo) -> datetime:
        """The UTC instant of the fire, given the event's zone."""
        if self.moment.tzinfo is not None:
            return self.moment.astimezone(UTC)
        first = self.moment.replace(tzinfo=zone, fold=0).utcoffset()
        second = self.moment.replace(tzinfo=zone, fold=1).utcoffset()
        assert first is not None and second is not None
        if first < second:
            return gap_end(self.moment, zone, first, second)
        return (self.moment - first).replace(tzinfo=UTC)


def parse_one_shot(text: str) -> OneShot:
    """Parse an ISO-8601 date-time (a date alone is not an instant)."""
    if not text.isascii() or ("T" not in text.upper() and " " not in text):
        raise InvalidPattern(f"one-shot {text!r} needs a date and a time, e.g. 2030-01-31T09:00Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidPattern(f"one-shot {text!r} is not a valid ISO-8601 date-time") from exc
    return OneShot(text, moment)
