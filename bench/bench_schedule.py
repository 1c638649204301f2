"""Schedule engine benchmark: Onewatch's next occurrence vs cronsim and croniter.

Measures, on the same inputs (a mix of patterns and zones, each asked from many
instants), the median time of one next-occurrence computation

- on an already-parsed pattern (what the scheduler does: ``Schedule.next_fire``; for
  cronsim a reused ``CronSim`` whose cursor is reset, for croniter ``set_current`` +
  ``get_next``), and
- the same with Onewatch's per-pattern cache of matching days emptied before each call
  (``parsed_cold_cache``: a schedule asked once, as after a restart), and
- parse plus next (a fresh ``compile_schedule`` / ``CronSim`` / ``croniter`` each time).

Libraries are timed in turn on each input so that a noisy machine hurts them alike.

Run: ``PYTHONPATH=src python bench/bench_schedule.py`` (writes bench/results/schedule.json).
Import: ``from bench.bench_schedule import run_schedule_benchmark``.
"""

from __future__ import annotations

import gc
import json
import platform
import random
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from cronsim import CronSim

from onewatch.domain.schedule import ScheduleSpec, compile_schedule
from onewatch.domain.schedule.cron import CronPattern

PATTERNS = (
    "*/15 * * * *",
    "0 9 * * MON-FRI",
    "30 2 * * *",
    "0 0 1 * *",
    "0 */6 * * *",
    "5 4 * * SUN",
    "0 12 15 * *",
    "0 0 L * *",
    "0 0 29 2 *",
    "0,30 8-18 * * 1-5",
)
ZONES = ("UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe")
RESULTS = Path(__file__).resolve().parent / "results" / "schedule.json"

Call = Callable[[datetime], object]
MODES = ("parsed", "parsed_cold_cache", "parse_plus_next")


def _afters(count: int, seed: int) -> list[datetime]:
    """Instants spread over 2024-2026 (so DST changes are among them), seconds included."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [start + timedelta(seconds=rng.randrange(3 * 365 * 86400)) for _ in range(count)]


def _onewatch_parsed(pattern: str, zone: str) -> Call:
    schedule = compile_schedule(ScheduleSpec(pattern, zone))
    return lambda after: schedule.next_fire(after, 0)


def _onewatch_parsed_cold(pattern: str, zone: str) -> Call:
    """Parsed, but the per-pattern cache of matching days emptied before every call."""
    schedule = compile_schedule(ScheduleSpec(pattern, zone))
    rule = schedule.pattern.rule
    assert isinstance(rule, CronPattern)

    def call(after: datetime) -> object:
        rule._day_cache.clear()
        return schedule.next_fire(after, 0)

    return call


def _onewatch_fresh(pattern: str, zone: str) -> Call:
    return lambda after: compile_schedule(ScheduleSpec(pattern, zone)).next_fire(after, 0)


def _cronsim_parsed(pattern: str, zone: str) -> Call:
    tz = ZoneInfo(zone)
    it = CronSim(pattern, datetime(2024, 1, 1, tzinfo=tz))

    def call(after: datetime) -> object:
        local = after.astimezone(tz).replace(microsecond=0)
        it.dt = local.replace(tzinfo=None) if it.fixup_tz else local
        return next(it)

    return call


def _cronsim_fresh(pattern: str, zone: str) -> Call:
    tz = ZoneInfo(zone)
    return lambda after: next(CronSim(pattern, after.astimezone(tz)))


def _croniter_parsed(pattern: str, zone: str) -> Call:
    tz = ZoneInfo(zone)
    it = croniter(pattern, datetime(2024, 1, 1, tzinfo=tz))

    def call(after: datetime) -> object:
        it.set_current(after.astimezone(tz), force=True)
        return it.get_next(datetime)

    return call


def _croniter_fresh(pattern: str, zone: str) -> Call:
    tz = ZoneInfo(zone)
    return lambda after: croniter(pattern, after.astimezone(tz)).get_next(datetime)


CONTENDERS: dict[str, dict[str, Callable[[str, str], Call]]] = {
    "onewatch": {
        "parsed": _onewatch_parsed,
        "parsed_cold_cache": _onewatch_parsed_cold,
        "parse_plus_next": _onewatch_fresh,
    },
    # Neither library caches anything between calls: their "cold" is their "parsed".
    "cronsim": {
        "parsed": _cronsim_parsed,
        "parsed_cold_cache": _cronsim_parsed,
        "parse_plus_next": _cronsim_fresh,
    },
    "croniter": {
        "parsed": _croniter_parsed,
        "parsed_cold_cache": _croniter_parsed,
        "parse_plus_next": _croniter_fresh,
    },
}


def _time_per_call(call: Call, after: datetime, loops: int) -> float:
    started = perf_counter()
    for _ in range(loops):
        call(after)
    return (perf_counter() - started) / loops


def _measure_mode(mode: str, afters: list[datetime], loops: int) -> dict[str, list[float]]:
    """Per-call seconds for every (pattern, zone, after), libraries interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for pattern in PATTERNS:
        for zone in ZONES:
            calls = {name: makers[mode](pattern, zone) for name, makers in CONTENDERS.items()}
            for after in afters:
                for name, call in calls.items():
                    samples[name].append(_time_per_call(call, after, loops))
    return samples


def run_schedule_benchmark(afters_per_case: int = 30, loops: int = 20) -> dict[str, Any]:
    """Run the whole comparison; medians in microseconds, plus Onewatch's speed-ups."""
    afters = _afters(afters_per_case, seed=20261127)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        measured = {mode: _measure_mode(mode, afters, loops) for mode in MODES}
    finally:
        if was_enabled:
            gc.enable()
    medians = {
        name: {mode: statistics.median(measured[mode][name]) * 1e6 for mode in measured}
        for name in CONTENDERS
    }
    ours = medians["onewatch"]
    return {
        "benchmark": "schedule next occurrence",
        "unit": "microseconds per call (median)",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "patterns": list(PATTERNS),
        "zones": list(ZONES),
        "afters_per_case": afters_per_case,
        "loops_per_sample": loops,
        "medians_us": medians,
        "speedup": {
            f"vs_{name}": {mode: medians[name][mode] / ours[mode] for mode in ours}
            for name in CONTENDERS
            if name != "onewatch"
        },
    }


def main() -> None:
    report = run_schedule_benchmark()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    json.dump(
        {"medians_us": report["medians_us"], "speedup": report["speedup"]}, sys.stdout, indent=2
    )
    sys.stdout.write(f"\nwritten to {RESULTS}\n")


if __name__ == "__main__":
    main()
