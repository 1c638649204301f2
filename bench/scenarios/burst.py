"""Burst: N one-shots due in the same instant, beside a large stored background."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bench import aps_runner, onewatch_runner
from bench.context import Context, write_result
from bench.scenarios.common import guarded, throughput


def _same_instant(count: int) -> onewatch_runner.DuesFor:
    def dues(first: datetime) -> list[datetime]:
        return [first] * count

    return dues


def _onewatch(ctx: Context, count: int, flavour: onewatch_runner.Flavour) -> dict[str, object]:
    return guarded(
        flavour.system,
        f"burst {count}",
        lambda: onewatch_runner.run_due(
            ctx,
            ctx.sizes.burst_background,
            _same_instant(count),
            f"burst{count}-{flavour.system}",
            flavour,
        ),
    )


def _apscheduler(ctx: Context, count: int, settings: str) -> dict[str, object]:
    return guarded(
        aps_runner.SYSTEM,
        f"burst {count} {settings}",
        lambda: aps_runner.run_due(
            ctx,
            ctx.sizes.burst_background,
            {"kind": "burst", "n": count},
            settings,
            f"burst{count}-aps-{settings}",
        ),
    )


def run(ctx: Context) -> Path:
    runs = []
    for count in ctx.sizes.burst_sizes:
        for flavour in onewatch_runner.FLAVOURS:
            if ctx.wants(flavour.system):
                runs.append(_onewatch(ctx, count, flavour))
        if ctx.wants(aps_runner.SYSTEM):
            runs.extend(_apscheduler(ctx, count, s) for s in ("default", "tuned"))
    for row in runs:
        row["burst"] = row.get("expected")
        row["deliveries_per_s"] = throughput(row)
    return write_result(ctx, "burst", {"runs": runs, "apscheduler_build": ctx.aps_build})
