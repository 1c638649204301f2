"""Reading a schedule pattern: prefix, descriptor, ``@every``, one-shot or 5-field cron."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from onewatch.domain.schedule.cron import CronPattern, parse_cron
from onewatch.domain.schedule.errors import InvalidPattern
from onewatch.domain.schedule.every import EveryPattern, parse_every
from onewatch.domain.schedule.oneshot import OneShot, looks_like_instant, parse_one_shot
from onewatch.domain.schedule.zones import normalize_timezone

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ZONE_PREFIXES = ("CRON_TZ=", "TZ=")

Rule = CronPattern | EveryPattern | OneShot


@dataclass(frozen=True)
class ParsedPattern:
    """A validated pattern: its rule, and the zone named by a ``CRON_TZ=``/``TZ=`` prefix."""

    text: str
    rule: Rule
    zone: str | None = None


def split_zone_prefix(text: str) -> tuple[str | None, str]:
    """``"CRON_TZ=Asia/Tokyo 0 9 * * *"`` -> (``"Asia/Tokyo"``, ``"0 9 * * *"``)."""
    for prefix in _ZONE_PREFIXES:
        if text.startswith(prefix):
            zone, _, rest = text[len(prefix) :].partition(" ")
            if not zone:
                raise InvalidPattern(f"{prefix} needs a zone name, e.g. {prefix}Europe/Paris")
            try:
                return normalize_timezone(zone), rest.strip()
            except InvalidPattern as exc:
                raise InvalidPattern(f"{prefix} prefix: {exc.reason}") from exc
    return None, text


def _parse_rule(body: str) -> Rule:
    if not body:
        raise InvalidPattern("is empty; expected e.g. '0 9 * * *', '@daily' or '@every 1h'")
    if body.startswith("@"):
        word, _, argument = body.partition(" ")
        if word.lower() == "@every":
            return parse_every(body, argument)
        if word.lower() in DESCRIPTORS and not argument.strip():
            return parse_cron(DESCRIPTORS[word.lower()])
        known = " ".join([*DESCRIPTORS, "@every"])
        raise InvalidPattern(f"unknown descriptor {body!r}; expected one of {known}")
    if looks_like_instant(body):
        return parse_one_shot(body)
    return parse_cron(body)


def parse_pattern(text: str) -> ParsedPattern:
    """Parse and validate a pattern (every rejection names the field and the reason)."""
    zone, body = split_zone_prefix(text.strip())
    return ParsedPattern(text, _parse_rule(body.strip()), zone)


@lru_cache(maxsize=4096)
def parse_pattern_cached(text: str) -> ParsedPattern:
    """``parse_pattern`` for the stateless entry points, which see the same texts often."""
    return parse_pattern(text)
