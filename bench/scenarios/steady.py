"""Steady state: R fires per second for a fixed span, over a large stored background."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import aps_runner, onewatch_runner
from bench.context import Context, write_result
from bench.scenarios.common import guarded
from bench.workload import steady_dues

#: The on-time bar of the issue: p99 lateness at most this, nothing early, lost or doubled.
ON_TIME_P99_MS = 25.0
#: The shortest steady span worth reporting when APScheduler's adds are too slow.
MIN_APS_SECONDS = 5.0


def _spread(rate: int, seconds: float) -> onewatch_runner.DuesFor:
    def dues(first: datetime) -> list[datetime]:
        return steady_dues(first, rate, seconds)

    return dues


def _points(
    rates: tuple[int, ...], stored: int, sweep: list[int], sweep_rate: int
) -> Iterator[tuple[int, int]]:
    """(rate, stored) pairs: every rate at the top count, then the stored-count sweep."""
    seen = set()
    for pair in [(rate, stored) for rate in rates] + [(sweep_rate, s) for s in sweep]:
        if pair not in seen:
            seen.add(pair)
            yield pair


def _onewatch_run(ctx: Context, rate: int, stored: int) -> dict[str, Any]:
    seconds = ctx.sizes.steady_seconds
    dues = _spread(rate, seconds)
    row = onewatch_runner.run_due(ctx, stored, dues, f"steady{rate}-{stored}-ow")
    return {**row, "rate": rate, "seconds": seconds}


def aps_seconds(ctx: Context, rate: int) -> float:
    """The steady span APScheduler gets: as long as the others, unless adding its jobs
    one ``add_job`` at a time would take longer than the build bound."""
    add_ms = float(ctx.aps_build.get("add_ms_per_job") or aps_runner.DEFAULT_ADD_MS)
    affordable = ctx.sizes.aps_build_bound_seconds * 1000 / (rate * add_ms)
    return min(ctx.sizes.steady_seconds, max(MIN_APS_SECONDS, affordable))


def _apscheduler_run(ctx: Context, rate: int, stored: int) -> dict[str, Any]:
    seconds = aps_seconds(ctx, rate)
    spec = {"kind": "steady", "rate": rate, "seconds": seconds}
    row = aps_runner.run_due(ctx, stored, spec, "tuned", f"steady{rate}-{stored}-aps")
    return {**row, "rate": rate, "seconds": seconds}


def _onewatch(ctx: Context) -> list[dict[str, Any]]:
    sizes = ctx.sizes
    sweep = list(sizes.steady_stored_sweep)
    points = _points(sizes.steady_rates, sizes.steady_stored, sweep, sizes.steady_sweep_rate)
    return [
        guarded(
            onewatch_runner.SYSTEM,
            f"steady {rate}/s over {stored}",
            partial(_onewatch_run, ctx, rate, stored),
        )
        for rate, stored in points
    ]


def _apscheduler(ctx: Context) -> list[dict[str, Any]]:
    sizes = ctx.sizes
    aps_runner.build_store(ctx)
    largest = int(ctx.aps_build["added"])
    sweep = sorted({s for s in sizes.steady_stored_sweep if s < largest} | {largest})
    points = _points(sizes.aps_steady_rates, largest, sweep, sizes.steady_sweep_rate)
    return [
        guarded(
            aps_runner.SYSTEM,
            f"steady {rate}/s over {stored}",
            partial(_apscheduler_run, ctx, rate, stored),
        )
        for rate, stored in points
    ]


def on_time(row: dict[str, Any]) -> bool:
    p99 = (row.get("lateness_ms") or {}).get("p99")
    return (
        "error" not in row
        and p99 is not None
        and p99 <= ON_TIME_P99_MS
        and row.get("lost") == 0
        and row.get("early") == 0
        and row.get("duplicates") == 0
    )


def best_on_time_rate(runs: list[dict[str, Any]], system: str, stored: int) -> int | None:
    rates = [
        int(row["rate"])
        for row in runs
        if row.get("system") == system and row.get("stored") == stored and on_time(row)
    ]
    return max(rates, default=None)


def run(ctx: Context) -> Path:
    runs: list[dict[str, Any]] = []
    if ctx.wants(onewatch_runner.SYSTEM):
        runs += _onewatch(ctx)
    if ctx.wants(aps_runner.SYSTEM):
        runs += _apscheduler(ctx)
    for row in runs:
        row["on_time"] = on_time(row)
    best = {
        onewatch_runner.SYSTEM: best_on_time_rate(
            runs, onewatch_runner.SYSTEM, ctx.sizes.steady_stored
        ),
        aps_runner.SYSTEM: best_on_time_rate(
            runs, aps_runner.SYSTEM, ctx.aps_build.get("added", 0)
        ),
    }
    body = {"runs": runs, "best_on_time_rate": best, "apscheduler_build": ctx.aps_build}
    return write_result(ctx, "steady", body)
