"""Offset changes (DST starts and ends) of a zone between two instants, for display.

The dashboard shows "clocks go forward here" between two fires; the engine itself
never needs this list (it probes offsets around each candidate instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from onewatch.domain.schedule.zones import zone_info

#: No zone changes its offset twice within this step (changes are months apart).
_STEP = timedelta(hours=6)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class OffsetChange:
    """At ``at`` (UTC) the zone's UTC offset goes from ``before`` to ``after``."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def is_gap(self) -> bool:
        """Clocks jump forward: wall times in between do not exist."""
        return self.after > self.before


def _offset(moment: datetime, zone_name: str) -> timedelta:
    offset = moment.astimezone(zone_info(zone_name)).utcoffset()
    assert offset is not None
    return offset


def _bisect(zone_name: str, low: datetime, high: datetime) -> datetime:
    """The first second in ``(low, high]`` with ``high``'s offset."""
    target = _offset(high, zone_name)
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0) if middle - low >= _SECOND else high
        if _offset(middle, zone_name) == target:
            high = middle
        else:
            low = middle
    return high


def offset_changes(
    timezone: str, start: datetime, end: datetime, *, limit: int = 100
) -> list[OffsetChange]:
    """The zone's offset changes in ``(start, end]``, oldest first, at most ``limit``."""
    changes: list[OffsetChange] = []
    low = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while low < stop and len(changes) < limit:
        high = min(low + _STEP, stop)
        before, after = _offset(low, timezone), _offset(high, timezone)
        if before != after:
            changes.append(OffsetChange(_bisect(timezone, low, high), before, after))
        low = high
    return changes
