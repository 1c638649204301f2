"""What the scenarios share: running one measurement without losing the others."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bench")


def guarded(system: str, label: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement; a failure becomes a row that says why, not a lost suite."""
    log.info("%s: %s ...", system, label)
    try:
        row = measure()
    except Exception as exc:  # every failure is reported in the results instead
        log.warning("%s: %s failed: %s", system, label, exc)
        return {
            "system": system,
            "label": label,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=5),
        }
    row["label"] = label
    log.info("%s: %s done", system, label)
    return row


def throughput(row: dict[str, Any]) -> float | None:
    """Deliveries per second from the due instant until the last one arrived."""
    latest = (row.get("lateness_ms") or {}).get("max")
    if not row.get("unique") or latest is None or latest <= 0:
        return None
    return float(row["unique"]) / (float(latest) / 1000)
