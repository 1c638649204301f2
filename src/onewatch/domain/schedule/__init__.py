"""The schedule engine: when does an event fire?

This is the contract the rest of Onewatch codes against. Everything here is pure: time
comes in as arguments, never from the clock.

- ``InvalidPattern``: a ``ValueError`` whose ``field`` names the part that is wrong
  (``"minute field"``, ``"timezone"``, ``"separation"`` ...) and ``reason`` says why.
- ``next_occurrence(pattern, timezone, after)``: first fire strictly after ``after``.
- ``ScheduleSpec`` / ``compile_schedule``: a whole event's schedule (pattern, zone,
  separation, max occurrences, window), validated once, then asked for fire times.
- ``normalize_timezone``: ``"America/Sao Paulo"`` -> ``"America/Sao_Paulo"``.
- ``describe_pattern``: plain English.
"""

from onewatch.domain.schedule.interim import (
    InvalidPattern,
    Schedule,
    ScheduleSpec,
    compile_schedule,
    describe_pattern,
    next_occurrence,
    normalize_timezone,
)

__all__ = [
    "InvalidPattern",
    "Schedule",
    "ScheduleSpec",
    "compile_schedule",
    "describe_pattern",
    "next_occurrence",
    "normalize_timezone",
]
