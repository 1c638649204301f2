"""Housekeeping beside the dispatcher: expired leases, old history, SQLite checkpoints.

Each job runs as small bounded statements on its own timer, so none holds the writer
for long on the hot path. The SQLite checkpoint is PASSIVE and frequent: it copies the
write-ahead log back into the database beside the writers, so the log rarely reaches
the size at which a committing writer would have to checkpoint (and fsync) itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from sqlalchemy import text

from onewatch.engine.waiting import first_of
from onewatch.runtime import Runtime
from onewatch.store.deliveries import prune_finished, reclaim_expired

log = structlog.get_logger("onewatch.maintenance")

PRUNE_CHUNK = 1000
CHECKPOINT_SECONDS = 1.0


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


async def checkpoint_once(runtime: Runtime) -> int:
    """Copy what readers no longer need from the SQLite WAL into the database file."""
    async with runtime.engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
    return 0


_JOBS = {"reclaim": reclaim_once, "prune": prune_once, "checkpoint": checkpoint_once}


async def _every(seconds: float, stop: asyncio.Event, job_name: str, runtime: Runtime) -> None:
    jobs = _JOBS
    while not stop.is_set():
        try:
            await jobs[job_name](runtime)
        except Exception:
            log.exception("maintenance job failed", job=job_name)
        await first_of(stop.wait(), seconds=seconds)


async def run_maintenance(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run both jobs until ``stop``."""
    jobs = [
        _every(reclaim_interval(runtime), stop, "reclaim", runtime),
        _every(runtime.settings.prune_interval_seconds, stop, "prune", runtime),
    ]
    if runtime.engine.dialect.name == "sqlite":
        jobs.append(_every(CHECKPOINT_SECONDS, stop, "checkpoint", runtime))
    await asyncio.gather(*jobs)
