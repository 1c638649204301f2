"""Housekeeping beside the dispatcher: reclaiming expired leases, pruning old history.

Both run as small bounded statements on their own timers, so they never hold the
writer for long on the hot path.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from onewatch.engine.waiting import first_of
from onewatch.runtime import Runtime
from onewatch.store.deliveries import prune_finished, reclaim_expired

log = structlog.get_logger("onewatch.maintenance")

PRUNE_CHUNK = 1000


def reclaim_interval(runtime: Runtime) -> float:
    """Often enough that a dead dispatcher's work restarts soon after its lease ends."""
    return min(max(runtime.settings.dispatcher_lease_seconds / 4, 0.2), 5.0)


async def reclaim_once(runtime: Runtime) -> int:
    count = await reclaim_expired(runtime.engine, now=runtime.clock.now())
    if count:
        log.warning("reclaimed deliveries whose lease expired", count=count)
        runtime.dispatch_wakeup.notify()
    return count


async def prune_once(runtime: Runtime) -> int:
    """Delete finished deliveries older than the retention, a chunk at a time."""
    retention = timedelta(days=runtime.settings.history_retention_days)
    older_than = runtime.clock.now() - retention
    total = 0
    while count := await prune_finished(runtime.engine, older_than=older_than, limit=PRUNE_CHUNK):
        total += count
        await asyncio.sleep(0)
        if count < PRUNE_CHUNK:
            break
    if total:
        log.info("pruned delivery history", count=total)
    return total


async def _every(seconds: float, stop: asyncio.Event, job_name: str, runtime: Runtime) -> None:
    jobs = {"reclaim": reclaim_once, "prune": prune_once}
    while not stop.is_set():
        try:
            await jobs[job_name](runtime)
        except Exception:
            log.exception("maintenance job failed", job=job_name)
        await first_of(stop.wait(), seconds=seconds)


async def run_maintenance(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run both jobs until ``stop``."""
    await asyncio.gather(
        _every(reclaim_interval(runtime), stop, "reclaim", runtime),
        _every(runtime.settings.prune_interval_seconds, stop, "prune", runtime),
    )
