"""Footprint: disk per stored event, RSS and idle CPU with nothing due."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench import aps_runner, onewatch_runner
from bench.context import Context, write_result
from bench.procs import idle_cpu_percent
from bench.scenarios.common import guarded

SETTLE_SECONDS = 5.0


def _measure(pid: int, seconds: float) -> dict[str, Any]:
    time.sleep(min(SETTLE_SECONDS, seconds))
    cpu = idle_cpu_percent(pid, seconds)
    return {"idle_cpu_percent": cpu, "rss_mb": psutil.Process(pid).memory_info().rss / 2**20}


def _onewatch(ctx: Context) -> dict[str, Any]:
    stored = ctx.sizes.steady_stored
    node, _token = onewatch_runner.start_node(ctx, stored, "idle-ow")
    try:
        measured = _measure(node.pid, ctx.sizes.idle_seconds)
    finally:
        node.stop()
    info = ctx.template_info[(onewatch_runner.SYSTEM, stored)]
    return {
        "system": onewatch_runner.SYSTEM,
        "stored": stored,
        **measured,
        "store_bytes": info["store_bytes"],
        "bytes_per_event": info["store_bytes"] / max(1, stored),
        "load_seconds": info["build_seconds"],
    }


def _apscheduler(ctx: Context) -> dict[str, Any]:
    aps_runner.build_store(ctx)
    stored = int(ctx.aps_build["added"])
    run_id = ctx.run_id("idle-aps")
    run_dir = ctx.run_dir(run_id)
    database = run_dir / "jobs.db"
    aps_runner.stored_copy(ctx, stored, database)
    config = {
        "mode": "run",
        "db": str(database),
        "sink_url": ctx.sink.base,
        "path": f"/{run_id}",
        "run_id": run_id,
        "settings": "tuned",
        "dues": {"kind": "none"},
        "add_estimate_ms": 0,
        "lead_min_seconds": 0,
        "result": str(run_dir / "result.json"),
    }
    worker = aps_runner.start_worker(config, run_dir)
    try:
        aps_runner.wait_added(worker, 60)
        measured = _measure(worker.pid, ctx.sizes.idle_seconds)
    finally:
        aps_runner.stop_worker(worker)
    return {
        "system": aps_runner.SYSTEM,
        "stored": stored,
        **measured,
        "store_bytes": ctx.aps_build["store_bytes"],
        "bytes_per_event": ctx.aps_build["store_bytes"] / max(1, stored),
        "load_seconds": ctx.aps_build["add_seconds"],
    }


def run(ctx: Context) -> Path:
    runs = []
    if ctx.wants(onewatch_runner.SYSTEM):
        runs.append(guarded(onewatch_runner.SYSTEM, "idle", lambda: _onewatch(ctx)))
    if ctx.wants(aps_runner.SYSTEM):
        runs.append(guarded(aps_runner.SYSTEM, "idle", lambda: _apscheduler(ctx)))
    return write_result(ctx, "idle", {"runs": runs})
