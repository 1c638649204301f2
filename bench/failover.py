"""The scale scenario's kill variant: SIGKILL one node mid-run, measure the take-over.

Occurrences due at a steady rate; a few seconds in, node 0 is killed with SIGKILL (no
release, no clean stop). On PostgreSQL the other node takes its leased deliveries over
once its heartbeat is stale; on SQLite (one node) a new process on the same data folder
replaces it at once, as a supervisor restarting it would. The killed node's deliveries
are those with an ``abandoned`` attempt (taken over), which should be exactly those
leased to it when it died; the figures are their lateness at the target, how many never
arrived, and how many came twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.context import Context
from bench.onewatch_node import OnewatchNode
from bench.onewatch_runner import Cluster, Flavour, _insert_run_events, prepare
from bench.runs import sleep_until, waiting_for
from bench.stats import summarize
from onewatch.store.database import create_engine
from onewatch.store.schema import deliveries, delivery_attempts, nodes


def dues_at(rate: int, seconds: float) -> Any:
    """``rate`` occurrences a second for ``seconds`` from the first due instant."""
    count = int(rate * seconds)
    return lambda first: [first + timedelta(seconds=i / rate) for i in range(count)]


async def _abandoned(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        query = select(delivery_attempts.c.delivery_id).where(
            delivery_attempts.c.outcome == "abandoned"
        )
        async with engine.connect() as connection:
            return set((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()


async def _leased_to(url: str, pid: int) -> set[str]:
    """What the node process ``pid`` held leased (read just after it died)."""
    engine = create_engine(url)
    try:
        holder = select(nodes.c.id).where(nodes.c.pid == pid).scalar_subquery()
        query = select(deliveries.c.id).where(
            deliveries.c.status == "running", deliveries.c.leased_by == holder
        )
        async with engine.connect() as connection:
            return set((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()


def _kill(cluster: Cluster, restart: bool, env: dict[str, str], log_dir: Path) -> None:
    """SIGKILL node 0; with ``restart``, start its replacement on the same data folder."""
    victim = cluster.nodes[0]
    victim.process.kill()
    victim.process.wait()
    if restart:
        log = log_dir / "onewatch-restarted.log"
        cluster.nodes.append(OnewatchNode(victim.data_dir, log, **env))


def run_kill(
    ctx: Context, flavour: Flavour, *, rate: int, seconds: float, kill_after: float
) -> dict[str, Any]:
    """One run: fire, kill node 0 ``kill_after`` seconds after the first due, measure."""
    run_id = ctx.run_id(f"scale-kill-{flavour.system}")
    prepared = prepare(ctx, flavour, ctx.sizes.scale_background, run_id)
    dues = _insert_run_events(ctx, prepared, dues_at(rate, seconds), run_id, flavour.nodes)
    cluster = Cluster(ctx, flavour, prepared, run_id)
    restart = flavour.nodes == 1
    env = {"ONEWATCH_DATABASE_URL": prepared.url}
    if cluster.redis is not None:
        env["ONEWATCH_QUEUE_URL"] = cluster.redis.url
    try:
        cluster.wait_ready()
        sleep_until(dues[0] + timedelta(seconds=kill_after))
        killed_at = datetime.now().astimezone()
        _kill(cluster, restart, env, ctx.run_dir(run_id))
        held = asyncio.run(_leased_to(prepared.url, cluster.nodes[0].pid))
        ctx.sink.wait_for(len(dues), f"/{run_id}", waiting_for(max(dues), ctx.sizes))
        taken_over = asyncio.run(_abandoned(prepared.url))
    finally:
        cluster.stop()
    receipts = ctx.sink.receipts(f"/{run_id}")
    killed = [r for r in receipts if r.webhook_id in taken_over]
    return {
        "system": flavour.system,
        "nodes": flavour.nodes,
        "queue": "redis" if flavour.queue else "table",
        "after_kill": "restart" if restart else "survivor",
        "rate": rate,
        "seconds": seconds,
        "killed_at": killed_at.isoformat(),
        "run_id": run_id,
        # Taken over without being the dead node's: a live node taken for dead.
        "false_takeovers": len(taken_over - held),
        "killed_node": {"held": len(held), **_figures(killed, len(taken_over))},
        "all": _figures(receipts, len(dues)),
    }


def _figures(receipts: list[Any], expected: int) -> dict[str, Any]:
    summary = summarize(receipts, expected=expected)
    return {key: summary[key] for key in ("unique", "lost", "duplicates", "lateness_ms")}
