"""The harness's side of Onewatch: prepared stores, then one server process per run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.onewatch_node import OnewatchNode, admin_token
from bench.onewatch_store import (
    copy_store,
    database_path,
    insert_events,
    migrate,
    one_shots,
)
from bench.procs import ProcessSampler, sqlite_size_bytes
from bench.runs import sleep_until, waiting_for
from bench.stats import summarize
from bench.workload import background_events, due_instant

SYSTEM = "onewatch-sqlite"
#: Rows per second the loader manages here, to leave room for inserting a run's events.
INSERT_RATE_ESTIMATE = 5_000


def template(ctx: Context, stored: int) -> Path:
    """A migrated store holding ``stored`` background events; built once per count."""
    key = (SYSTEM, stored)
    if key not in ctx.templates:
        data_dir = ctx.work_dir / "templates" / f"onewatch-{stored}"
        started = time.monotonic()
        migrate(data_dir)
        now = datetime.now(UTC)
        insert_events(data_dir, background_events(stored, now), ctx.sink.url("/background"))
        ctx.template_info[key] = {
            "stored": stored,
            "build_seconds": time.monotonic() - started,
            "store_bytes": sqlite_size_bytes(database_path(data_dir)),
        }
        ctx.templates[key] = data_dir
    return ctx.templates[key]


DuesFor = Callable[[datetime], list[datetime]]


def _prepare(
    ctx: Context, stored: int, dues_for: DuesFor, run_id: str
) -> tuple[Path, list[datetime]]:
    data_dir = ctx.run_dir(run_id) / "data"
    copy_store(template(ctx, stored), data_dir)
    lead = ctx.sizes.startup_lead_seconds
    # Leave room to insert the run's own events before the first is due.
    probe = len(dues_for(datetime.now(UTC)))
    first = due_instant(lead + probe / INSERT_RATE_ESTIMATE, datetime.now(UTC))
    dues = dues_for(first)
    insert_events(data_dir, one_shots(run_id, dues), ctx.sink.url(f"/{run_id}"))
    return data_dir, dues


def run_due(ctx: Context, stored: int, dues_for: DuesFor, label: str) -> dict[str, Any]:
    """Insert the run's one-shots (``dues_for(first_due)``), start the node, measure."""
    run_id = ctx.run_id(label)
    data_dir, dues = _prepare(ctx, stored, dues_for, run_id)
    node = OnewatchNode(data_dir, ctx.run_dir(run_id) / "onewatch.log")
    try:
        ready_seconds = node.wait_ready()
        ready_margin = (dues[0] - datetime.now(UTC)).total_seconds()
        # CPU is measured over the firing window, not the wait before it.
        sleep_until(dues[0])
        sampler = ProcessSampler(node.pid)
        ctx.sink.wait_for(len(dues), f"/{run_id}", waiting_for(max(dues), ctx.sizes))
        usage = sampler.stop()
    finally:
        node.stop()
    summary = summarize(ctx.sink.receipts(f"/{run_id}"), expected=len(dues))
    return {
        "system": SYSTEM,
        "settings": "default",
        "stored": stored,
        "run_id": run_id,
        "startup_seconds": ready_seconds,
        "ready_before_due_s": ready_margin,
        "first_due": dues[0].isoformat(),
        **summary,
        **usage,
        "store_bytes": sqlite_size_bytes(database_path(data_dir)),
    }


def start_node(ctx: Context, stored: int, label: str) -> tuple[OnewatchNode, str]:
    """A node on a copy of the ``stored`` template, ready to answer, and an admin token."""
    run_id = ctx.run_id(label)
    data_dir = ctx.run_dir(run_id) / "data"
    copy_store(template(ctx, stored), data_dir)
    token = admin_token(data_dir)
    node = OnewatchNode(data_dir, ctx.run_dir(run_id) / "onewatch.log")
    try:
        node.wait_ready()
    except RuntimeError:
        node.stop()
        raise
    return node, token
