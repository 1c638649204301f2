"""How instants, durations and offsets read on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onewatch.domain.schedule.zones import zone_info


def in_zone(moment: datetime | None, zone: str) -> str:
    """``2026-03-29 03:00 CEST (+02:00)``; an em dash for no instant."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone_info(zone))
    return f"{local:%Y-%m-%d %H:%M:%S %Z} ({offset_text(local.utcoffset())})"


def utc(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offset_text(offset: timedelta | None) -> str:
    """``+02:00``, ``-03:30``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def seconds_text(seconds: float | None) -> str:
    """``12 ms``, ``1.5 s``; an em dash for no value."""
    if seconds is None:
        return "—"
    if abs(seconds) < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"
