"""Scale-out: one burst fired by 1, 2 and 3 nodes on PostgreSQL, with the deliveries
table or Redis Streams as the dispatch queue, beside one node on SQLite."""

from __future__ import annotations

from pathlib import Path

from bench import onewatch_runner
from bench.context import Context, write_result
from bench.scenarios.common import guarded, throughput


def _run(ctx: Context, flavour: onewatch_runner.Flavour) -> dict[str, object]:
    count = ctx.sizes.scale_burst
    return guarded(
        flavour.system,
        f"scale {count}",
        lambda: onewatch_runner.run_due(
            ctx,
            ctx.sizes.scale_background,
            lambda first: [first] * count,
            f"scale{count}-{flavour.system}",
            flavour,
        ),
    )


def run(ctx: Context) -> Path:
    runs = [_run(ctx, f) for f in onewatch_runner.SCALE_FLAVOURS if ctx.wants(f.system)]
    for row in runs:
        row["burst"] = row.get("expected")
        row["deliveries_per_s"] = throughput(row)
    return write_result(ctx, "scale", {"runs": runs})
