"""Schedule engine: next-occurrence time against cronsim and croniter.

The measurement itself lives in ``bench/bench_schedule.py`` (written with the schedule
engine); this scenario calls it and files what it returns next to the others.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.context import Context, write_result

MODULE = "bench.bench_schedule"
#: The entry point's name, first match wins; it returns a dict.
ENTRY_POINTS = ("run_schedule_benchmark", "run", "run_benchmark", "benchmark")
#: Keyword arguments that make the measurement tiny, passed when the entry point has them.
QUICK_ARGUMENTS = {"quick": True, "afters_per_case": 3, "loops": 3}


def _entry_point() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MODULE:
            raise
        return None
    for name in ENTRY_POINTS:
        candidate = getattr(module, name, None)
        if callable(candidate):
            return candidate  # type: ignore[no-any-return]
    return None


def _call(entry: Callable[..., Any], quick: bool) -> Any:
    if not quick:
        return entry()
    accepted = inspect.signature(entry).parameters
    return entry(**{name: value for name, value in QUICK_ARGUMENTS.items() if name in accepted})


def run(ctx: Context) -> Path:
    entry = _entry_point()
    if entry is None:
        body: dict[str, Any] = {"skipped": f"{MODULE} with one of {ENTRY_POINTS} not found"}
    else:
        result = _call(entry, ctx.quick)
        body = {
            "entry_point": entry.__name__,
            "result": result if isinstance(result, dict) else {"value": result},
        }
    return write_result(ctx, "engine", body)
