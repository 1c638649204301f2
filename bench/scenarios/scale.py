"""Scale-out: one burst fired by 1, 2 and 3 nodes on PostgreSQL, with the deliveries
table or Redis Streams as the dispatch queue, beside one node on SQLite.

The kill variant (``scale-kill``, ``bench.failover``): a steady stream on two PostgreSQL
nodes (table or Redis queue) or one SQLite node, node 0 SIGKILLed mid-run; the
lateness of the deliveries it held, how many were lost and how many came twice."""

from __future__ import annotations

from pathlib import Path

from bench import failover, onewatch_runner
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


#: The kill variant's flavours: a single node restarted, two nodes with a survivor.
KILL_FLAVOURS = (
    onewatch_runner.SQLITE,
    onewatch_runner.POSTGRES_2,
    onewatch_runner.POSTGRES_2_REDIS,
)
#: Occurrences a second, for how long, and when (after the first due) node 0 dies: light
#: enough that one survivor keeps up on a shared machine (500/s here built a backlog that
#: made every delivery late), so the figure is the take-over, not the backlog.
KILL_RATE, KILL_SECONDS, KILL_AFTER_SECONDS = 100, 30.0, 10.0


def run_kill(ctx: Context) -> Path:
    rate, seconds = (100, 8.0) if ctx.quick else (KILL_RATE, KILL_SECONDS)
    after = min(KILL_AFTER_SECONDS, seconds / 3)

    def measure(flavour: onewatch_runner.Flavour) -> dict[str, object]:
        return guarded(
            flavour.system,
            "scale kill",
            lambda: failover.run_kill(ctx, flavour, rate=rate, seconds=seconds, kill_after=after),
        )

    runs = [measure(f) for f in KILL_FLAVOURS if ctx.wants(f.system)]
    return write_result(ctx, "scale-kill", {"runs": runs})
