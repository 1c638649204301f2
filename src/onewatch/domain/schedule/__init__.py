"""The schedule engine: when does an event fire?

This is the contract the rest of Onewatch codes against. Everything here is pure: time
comes in as arguments, never from the clock.

- ``InvalidPattern``: a ``ValueError`` whose ``field`` names the part that is wrong
  (``"pattern"``, ``"timezone"``, ``"separation"`` ...) and ``reason`` says why.
- ``next_occurrence(pattern, timezone, after)``: first fire strictly after ``after``.
- ``ScheduleSpec`` / ``compile_schedule``: a whole event's schedule (pattern, zone,
  separation, max occurrences, window), validated once, then asked for fire times.
- ``normalize_timezone``: ``"America/Sao Paulo"`` -> ``"America/Sao_Paulo"``.
- ``describe_pattern``: plain English.
- ``parse_pattern`` / ``ParsedPattern``: the validated form of a pattern text.
- ``offset_changes`` / ``OffsetChange``: a zone's DST changes between two instants
  (for the dashboard's "clocks change here" marks).

Modules: ``fields`` and ``days`` (grammar), ``cron`` (wall-time search), ``search``
(instants and DST rules), ``every``, ``oneshot``, ``patterns`` (which form a text is),
``schedule`` (event level), ``zones``, ``describe``.
"""

from onewatch.domain.schedule.describe import describe_pattern
from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.patterns import ParsedPattern, parse_pattern
from onewatch.domain.schedule.schedule import (
    Schedule,
    ScheduleSpec,
    compile_schedule,
    next_occurrence,
)
from onewatch.domain.schedule.transitions import OffsetChange, offset_changes
from onewatch.domain.schedule.zones import normalize_timezone

__all__ = [
    "InvalidPattern",
    "OffsetChange",
    "ParsedPattern",
    "Schedule",
    "ScheduleSpec",
    "compile_schedule",
    "describe_pattern",
    "next_occurrence",
    "normalize_timezone",
    "offset_changes",
    "parse_pattern",
]
