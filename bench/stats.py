"""Turning the sink's raw receipts into the figures the report shows.

Kept free of I/O so the sink process and the harness compute the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: How many points of a lateness distribution are kept for the CDF plots.
CDF_POINTS = 200


@dataclass(frozen=True)
class Receipt:
    """One request the sink received: when, which delivery, for which due instant."""

    received_ns: int
    webhook_id: str
    scheduled_for: str
    path: str


def due_ns(scheduled_for: str) -> int | None:
    """The due instant in epoch nanoseconds, from the ISO UTC header value."""
    if not scheduled_for:
        return None
    try:
        moment = datetime.fromisoformat(scheduled_for.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    # Microsecond precision is all ISO text carries; keep integer arithmetic exact.
    seconds = math.floor(moment.timestamp())
    return seconds * 1_000_000_000 + moment.microsecond * 1_000


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (``fraction`` in 0..1)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def cdf_points(sorted_values: Sequence[float], points: int = CDF_POINTS) -> list[float]:
    """Evenly spaced quantiles, enough to draw a CDF without storing every sample."""
    if not sorted_values:
        return []
    count = min(points, len(sorted_values))
    return [percentile(sorted_values, (index + 1) / count) for index in range(count)]


def _lateness_ms(receipts: Iterable[Receipt]) -> list[float]:
    values = []
    for receipt in receipts:
        due = due_ns(receipt.scheduled_for)
        if due is not None:
            values.append((receipt.received_ns - due) / 1e6)
    return sorted(values)


def summarize(receipts: Sequence[Receipt], expected: int | None = None) -> dict[str, Any]:
    """Counts, duplicates, early fires and lateness percentiles of one run's receipts.

    A duplicate is a second receipt with a ``webhook-id`` already seen; lateness is
    receipt minus due, so an early fire has negative lateness.
    """
    ids = Counter(receipt.webhook_id for receipt in receipts)
    lateness = _lateness_ms(receipts)
    first_ns = min((r.received_ns for r in receipts), default=0)
    last_ns = max((r.received_ns for r in receipts), default=0)
    summary: dict[str, Any] = {
        "received": len(receipts),
        "unique": len(ids),
        "duplicates": sum(count - 1 for count in ids.values()),
        "early": sum(1 for value in lateness if value < 0),
        "lateness_ms": {
            "p50": percentile(lateness, 0.50),
            "p99": percentile(lateness, 0.99),
            "max": lateness[-1] if lateness else math.nan,
            "min": lateness[0] if lateness else math.nan,
        },
        "receive_span_s": (last_ns - first_ns) / 1e9,
        "lateness_cdf_ms": cdf_points(lateness),
    }
    if expected is not None:
        summary["expected"] = expected
        summary["lost"] = max(0, expected - len(ids))
    return summary


def clean_floats(value: Any) -> Any:
    """NaN is not JSON: replace it with None, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: clean_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_floats(item) for item in value]
    return value
