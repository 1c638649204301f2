"""Plain-English descriptions of patterns, for the CLI and the dashboard."""

from __future__ import annotations

from datetime import timedelta

from cron_descriptor import ExpressionDescriptor, Options

from onewatch.domain.schedule.cron import CronPattern
from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.every import EveryPattern
from onewatch.domain.schedule.fields import FIELDS, CronField, parse_item
from onewatch.domain.schedule.patterns import DESCRIPTORS, parse_pattern, split_zone_prefix

_DESCRIPTOR_TEXT = {
    "@yearly": "Once a year, at 00:00 on January 1",
    "@annually": "Once a year, at 00:00 on January 1",
    "@monthly": "Once a month, at 00:00 on day 1",
    "@weekly": "Once a week, at 00:00 on Sunday",
    "@daily": "Once a day, at 00:00",
    "@midnight": "Once a day, at 00:00",
    "@hourly": "Every hour, at minute 0",
}
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def describe_interval(interval: timedelta) -> str:
    """``timedelta(minutes=90)`` -> ``"1 hour 30 minutes"``."""
    seconds = int(interval.total_seconds())
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(_plural(count, unit))
    if interval.microseconds:
        parts.append(f"{interval.microseconds} microseconds")
    return " ".join(parts)


def _single_value_item(item: str, spec: CronField) -> str:
    """A stepped item that selects one value, as that value (other items unchanged)."""
    if "/" not in item:
        return item
    try:
        values = parse_item(item, spec)
    except InvalidPattern:  # L, W, # forms: not plain items, never stepped
        return item
    return str(min(values)) if len(values) == 1 else item


def _without_wide_steps(five_fields: str) -> str:
    """``*/100 * * * *`` -> ``0 * * * *``: the describer would say "every 100 minutes"."""
    fields = five_fields.split()
    return " ".join(
        ",".join(_single_value_item(item, spec) for item in text.split(","))
        for text, spec in zip(fields, FIELDS, strict=True)
    )


def _describe_cron(five_fields: str) -> str:
    options = Options()
    options.use_24hour_time_format = True
    text = _without_wide_steps(five_fields)
    return str(ExpressionDescriptor(text, options).get_description())


def describe_pattern(pattern: str) -> str:
    """Plain English for a pattern; raises ``InvalidPattern`` for a bad one."""
    parsed = parse_pattern(pattern)
    zone, body = split_zone_prefix(pattern.strip())
    suffix = f" ({zone} time)" if zone else ""
    rule = parsed.rule
    word = body.split(" ", 1)[0].lower()
    if isinstance(rule, EveryPattern):
        return f"Every {describe_interval(rule.interval)}, counted from the event's start"
    if isinstance(rule, CronPattern):
        text = _DESCRIPTOR_TEXT[word] if word in DESCRIPTORS else _describe_cron(rule.text)
        return text + suffix
    moment = rule.moment
    where = "" if moment.tzinfo is not None else " in the event's time zone"
    return f"Once, at {moment.isoformat()}{where}"
