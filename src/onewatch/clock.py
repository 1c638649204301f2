"""Time as an injected dependency, so the domain and the tests control it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant; always an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """Convert an aware datetime to UTC; reject naive ones, whose meaning is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    return moment.astimezone(UTC)
