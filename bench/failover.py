"""The scale scenario's kill variant: SIGKILL one node mid-run, measure the take-over.

Occurrences due at a steady rate; a few seconds in, the node holding most leases is
killed with SIGKILL (no release, no clean stop). On PostgreSQL the other node takes its
leased deliveries over once its heartbeat is stale; on SQLite (one node) a new process
on the same data folder replaces it at once, as a supervisor restarting it would. The
killed node's deliveries are those with an ``abandoned`` attempt (taken over), which
should be exactly those leased to it when it died; the figures are their lateness at
the target, how many never arrived, and how many came twice.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bench.context import Context
from bench.onewatch_node import OnewatchNode
from bench.onewatch_runner import Cluster, Flavour, _insert_run_events, prepare
from bench.runs import sleep_until, waiting_for
from bench.stats import Receipt, due_ns, percentile, summarize
from onewatch.store import open_store
from onewatch.store.schema import deliveries, delivery_attempts, nodes


def dues_at(rate: int, seconds: float) -> Any:
    """``rate`` occurrences a second for ``seconds`` from the first due instant."""
    count = int(rate * seconds)
    return lambda first: [first + timedelta(seconds=i / rate) for i in range(count)]


async def _abandoned(url: str) -> set[str]:
    engine = open_store(url).engine
    try:
        query = select(delivery_attempts.c.delivery_id).where(
            delivery_attempts.c.outcome == "abandoned"
        )
        async with engine.connect() as connection:
            return set((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()


async def _leases(url: str) -> dict[int, set[str]]:
    """Node process id -> the deliveries leased to it right now."""
    engine = open_store(url).engine
    joined = deliveries.join(nodes, nodes.c.id == deliveries.c.leased_by)
    query = (
        select(nodes.c.pid, deliveries.c.id)
        .select_from(joined)
        .where(deliveries.c.status == "running")
    )
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
    finally:
        await engine.dispose()
    found: dict[int, set[str]] = {}
    for pid, ident in rows:
        found.setdefault(pid, set()).add(ident)
    return found


def _busiest(cluster: Cluster, url: str) -> OnewatchNode:
    """The node holding most leases (in queue mode one node may be holding none)."""
    held = asyncio.run(_leases(url))
    return max(cluster.nodes, key=lambda node: len(held.get(node.pid, ())))


def run_kill(
    ctx: Context, flavour: Flavour, *, rate: int, seconds: float, kill_after: float
) -> dict[str, Any]:
    """One run: fire, kill the busiest node ``kill_after`` seconds after the first due,
    measure."""
    run_id = ctx.run_id(f"scale-kill-{flavour.system}")
    prepared = prepare(ctx, flavour, ctx.sizes.scale_background, run_id)
    dues = _insert_run_events(ctx, prepared, dues_at(rate, seconds), run_id, flavour.nodes)
    cluster = Cluster(ctx, flavour, prepared, run_id)
    restart = flavour.nodes == 1
    env = cluster.env
    try:
        cluster.wait_ready()
        sleep_until(dues[0] + timedelta(seconds=kill_after))
        victim = _busiest(cluster, prepared.url)
        killed_at = datetime.now().astimezone()
        killed_ns = time.time_ns()
        victim.process.kill()  # SIGKILL: no release, no clean stop
        victim.process.wait()
        held = asyncio.run(_leases(prepared.url)).get(victim.pid, set())
        if restart:  # as a supervisor would, at once
            log = ctx.run_dir(run_id) / "onewatch-restarted.log"
            cluster.nodes.append(OnewatchNode(victim.data_dir, log, None, **env))
        ctx.sink.wait_for(len(dues), f"/{run_id}", waiting_for(max(dues), ctx.sizes))
        taken_over = asyncio.run(_abandoned(prepared.url))
    finally:
        cluster.stop()
    receipts = ctx.sink.receipts(f"/{run_id}")
    killed = [r for r in receipts if r.webhook_id in taken_over]
    first = _first_receipts(killed)
    resent = [r for r in killed if r.received_ns > killed_ns]
    return {
        "system": flavour.system,
        "nodes": flavour.nodes,
        "queue": flavour.queue,
        "after_kill": "restart" if restart else "survivor",
        "rate": rate,
        "seconds": seconds,
        "killed_at": killed_at.isoformat(),
        "run_id": run_id,
        # Taken over without being the dead node's: a live node taken for dead.
        "false_takeovers": len(taken_over - held),
        # When the target first had each of the dead node's deliveries (those it had
        # sent before dying count then), and the take-over's sends after the kill.
        "killed_node": {
            "held": len(held),
            **_figures(killed, len(taken_over)),
            "lateness_ms": _figures(first, len(taken_over))["lateness_ms"],
            "resent": len(resent),
            "resent_lateness_ms": _figures(resent, len(resent))["lateness_ms"],
            # The take-over alone: each re-send after the later of its due instant and
            # the kill (a backlog the machine had built before the kill does not count).
            "resent_after_kill_ms": _after_kill(resent, killed_ns),
        },
        "all": _figures(receipts, len(dues)),
    }


def _after_kill(receipts: list[Receipt], killed_ns: int) -> dict[str, float]:
    delays = []
    for receipt in receipts:
        due = due_ns(receipt.scheduled_for)
        if due is not None:
            delays.append((receipt.received_ns - max(due, killed_ns)) / 1e6)
    delays.sort()
    return {"p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99)}


def _first_receipts(receipts: list[Receipt]) -> list[Receipt]:
    first: dict[str, Receipt] = {}
    for receipt in sorted(receipts, key=lambda r: r.received_ns):
        first.setdefault(receipt.webhook_id, receipt)
    return list(first.values())


def _figures(receipts: list[Receipt], expected: int) -> dict[str, Any]:
    summary = summarize(receipts, expected=expected)
    return {key: summary[key] for key in ("unique", "lost", "duplicates", "lateness_ms")}
