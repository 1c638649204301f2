"""IANA time zones: forgiving names in, canonical ``tzinfo`` out."""

from __future__ import annotations

import difflib
from datetime import UTC, tzinfo
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from onewatch.domain.schedule.errors import InvalidPattern

#: Names whose offset is zero forever: evaluated with ``datetime.UTC``, which is faster
#: than a ``ZoneInfo`` and has no transitions to check.
_ALWAYS_UTC = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "GMT",
        "Etc/GMT",
        "Etc/Universal",
        "Universal",
        "Zulu",
        "Etc/Zulu",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Etc/Greenwich",
        "Greenwich",
    }
)


@cache
def _known_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _suggestions(candidate: str) -> str:
    zones = _known_zones()
    lowered = {name.lower(): name for name in zones}
    close = difflib.get_close_matches(candidate.lower(), list(lowered), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + ", ".join(lowered[name] for name in close) + "?"


@lru_cache(maxsize=1024)
def normalize_timezone(name: str) -> str:
    """The canonical spelling of an IANA zone name (spaces become underscores).

    ``"America/Sao Paulo"`` -> ``"America/Sao_Paulo"``. An unknown zone raises
    ``InvalidPattern(field="timezone")`` naming the closest real zones.
    """
    candidate = "_".join(name.strip().split())
    if not candidate:
        raise InvalidPattern(
            "is empty; give an IANA zone name such as Europe/Paris", field="timezone"
        )
    if candidate in _ALWAYS_UTC or candidate in _known_zones():
        return candidate
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        hint = _suggestions(candidate)
        raise InvalidPattern(f"unknown time zone {name!r}{hint}", field="timezone") from exc
    return candidate


@lru_cache(maxsize=1024)
def zone_info(name: str) -> tzinfo:
    """The ``tzinfo`` for a normalised zone name (``datetime.UTC`` for the UTC aliases)."""
    canonical = normalize_timezone(name)
    if canonical in _ALWAYS_UTC:
        return UTC
    return ZoneInfo(canonical)
