"""Housekeeping beside the dispatcher: expired leases, old history, WAL checkpoints.

Each job runs as small bounded statements on its own timer, so none holds the writer
for long on the hot path. A store with a write-ahead log to fold back (SQLite) is
checkpointed often and passively, beside the writers, so the log rarely reaches the size
at which a committing writer would have to checkpoint (and fsync) itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from onewatch.engine.outage import report_step_failure
from onewatch.engine.waiting import first_of
from onewatch.runtime import Runtime

log = structlog.get_logger("onewatch.maintenance")

PRUNE_CHUNK = 1000
CHECKPOINT_SECONDS = 1.0


#: Rows per reclaim statement; a dead node's whole hand is taken in one round.
RECLAIM_CHUNK = 500


def reclaim_interval(runtime: Runtime) -> float:
    """Often enough that a dead node's work restarts soon after its heartbeat goes
    stale (a sixth of the take-over time) or its lease ends. Each look is one read."""
    settings = runtime.settings
    lease, takeover = settings.dispatcher_lease_seconds, settings.node_takeover_seconds
    return max(min(lease / 4, takeover / 6), 0.1)


async def reclaim_once(runtime: Runtime) -> int:
    """Take over the deliveries of dead nodes and of lapsed leases, all of them."""
    dead_after = timedelta(seconds=runtime.settings.node_takeover_seconds)
    total = 0
    while True:
        count = await runtime.store.reclaim_expired(
            now=runtime.clock.now(),
            limit=RECLAIM_CHUNK,
            dead_after=dead_after,
            me=runtime.node_id,
        )
        total += count
        if count < RECLAIM_CHUNK:
            break
    if total:
        log.warning("took over deliveries of a dead node or a lapsed lease", count=total)
        runtime.dispatch_wakeup.notify()
    return total


async def prune_once(runtime: Runtime) -> int:
    """Delete finished deliveries older than the retention, a chunk at a time."""
    retention = timedelta(days=runtime.settings.history_retention_days)
    older_than = runtime.clock.now() - retention
    total = 0
    while count := await runtime.store.prune_finished(older_than=older_than, limit=PRUNE_CHUNK):
        total += count
        await asyncio.sleep(0)
        if count < PRUNE_CHUNK:
            break
    if total:
        log.info("pruned delivery history", count=total)
    return total


async def prune_audit_once(runtime: Runtime) -> int:
    """Delete audit entries older than their retention (none when it is 0), a chunk at a
    time, each chunk its own short transaction."""
    days = runtime.settings.audit_retention_days
    if days <= 0:
        return 0
    older_than = runtime.clock.now() - timedelta(days=days)
    total = 0
    while True:
        async with runtime.store.write() as tx:
            count = await tx.prune_audit(older_than=older_than, limit=PRUNE_CHUNK)
        total += count
        if count < PRUNE_CHUNK:
            break
        await asyncio.sleep(0)
    if total:
        log.info("pruned audit log", count=total)
    return total


async def checkpoint_once(runtime: Runtime) -> int:
    """Fold the write-ahead log back when it changed (``Store.checkpoint``)."""
    return await runtime.store.checkpoint()


Job = Callable[[Runtime], Awaitable[int]]


async def _every(
    seconds: float, stop: asyncio.Event, job_name: str, job: Job, runtime: Runtime
) -> None:
    while not stop.is_set():
        try:
            await job(runtime)
        except Exception as exc:
            report_step_failure(log, "maintenance job failed", exc, job=job_name)
        await first_of(stop.wait(), seconds=seconds)


async def run_maintenance(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the jobs until ``stop``."""
    jobs = [
        _every(reclaim_interval(runtime), stop, "reclaim", reclaim_once, runtime),
        _every(runtime.settings.prune_interval_seconds, stop, "prune", prune_once, runtime),
        _every(
            runtime.settings.prune_interval_seconds, stop, "prune-audit", prune_audit_once, runtime
        ),
    ]
    if runtime.store.checkpoints:
        jobs.append(_every(CHECKPOINT_SECONDS, stop, "checkpoint", checkpoint_once, runtime))
    await asyncio.gather(*jobs)
