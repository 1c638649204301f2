"""The five cron fields: their ranges, names, and the grammar of one list item.

Grammar of a field: a comma-separated list of items; an item is ``*``, a value, a range
``a-b``, optionally followed by ``/step``; ``a/step`` means ``a-max/step``. Values are
ASCII digits or, in the month and day-of-week fields, 3-letter names. A step wider than
its range is accepted and selects the start value alone (``*/100`` in the minute field is
minute 0), as Vixie cron, cronsim and robfig/cron do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onewatch.domain.schedule.errors import InvalidPattern

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class CronField:
    """One position of a cron pattern."""

    name: str
    low: int
    high: int
    #: Upper end of ``*`` and of ``a/step`` (6 for day-of-week, where 7 is an alias).
    span_high: int
    names: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str) -> InvalidPattern:
        """The error for a bad item in this field."""
        return InvalidPattern(f"{self.name} field: {reason}")


MINUTE = CronField("minute", 0, 59, 59)
HOUR = CronField("hour", 0, 23, 23)
DAY_OF_MONTH = CronField("day-of-month", 1, 31, 31)
MONTH = CronField("month", 1, 12, 12, {name: i + 1 for i, name in enumerate(_MONTH_NAMES)})
DAY_OF_WEEK = CronField("day-of-week", 0, 7, 6, {name: i for i, name in enumerate(_DAY_NAMES)})
FIELDS = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)


def is_ascii_number(token: str) -> bool:
    """True for ``"0"``-``"9"`` strings only (``str.isdigit`` also accepts ``"¹"``)."""
    return token.isascii() and token.isdigit()


def parse_value(token: str, spec: CronField) -> int:
    """One value: digits in range, or a 3-letter name of this field."""
    if is_ascii_number(token):
        value = int(token)
    elif token.upper() in spec.names:
        value = spec.names[token.upper()]
    elif token == "":
        raise spec.fail("a value is missing")
    else:
        raise spec.fail(f"{token!r} is not a valid value")
    if not spec.low <= value <= spec.high:
        raise spec.fail(f"{value} is out of range {spec.low}-{spec.high}")
    return value


def _parse_step(text: str, spec: CronField) -> int:
    if not is_ascii_number(text):
        raise spec.fail(f"step {text!r} is not a number")
    step = int(text)
    if step == 0:
        raise spec.fail("step 0 is not allowed")
    return step


def _bounds(base: str, spec: CronField, stepped: bool) -> tuple[int, int]:
    if base == "*":
        return spec.low, spec.span_high
    if "-" in base:
        first, _, last = base.partition("-")
        low, high = parse_value(first, spec), parse_value(last, spec)
        if low > high:
            raise spec.fail(f"range {base} is reversed ({low} > {high})")
        return low, high
    value = parse_value(base, spec)
    return value, (max(value, spec.span_high) if stepped else value)


def parse_item(item: str, spec: CronField) -> set[int]:
    """The values one list item selects."""
    if item == "":
        raise spec.fail("empty list item")
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, spec) if slash else 1
    if "/" in step_text:
        raise spec.fail(f"{item!r} has more than one step")
    low, high = _bounds(base, spec, bool(slash))
    return set(range(low, high + 1, step))


def parse_plain_field(text: str, spec: CronField) -> frozenset[int]:
    """A field made of plain items only (minute, hour, month)."""
    values: set[int] = set()
    for item in text.split(","):
        values |= parse_item(item, spec)
    return frozenset(values)


def is_unrestricted(text: str) -> bool:
    """robfig's rule for the day fields: only ``*``, ``?`` and ``*/1`` leave a field open."""
    return text in ("*", "?", "*/1")
