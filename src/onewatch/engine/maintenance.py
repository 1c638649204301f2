"""Housekeeping beside the dispatcher: expired leases, old history, SQLite checkpoints.

Each job runs as small bounded statements on its own timer, so none holds the writer
for long on the hot path. The SQLite checkpoint is PASSIVE and frequent: it copies the
write-ahead log back into the database beside the writers, so the log rarely reaches
the size at which a committing writer would have to checkpoint (and fsync) itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import structlog

from onewatch.engine.outage import report_step_failure
from onewatch.engine.waiting import first_of
from onewatch.runtime import Runtime
from onewatch.store.audit import prune_audit
from onewatch.store.database import checkpoint_sqlite_wal, is_sqlite, sqlite_wal_file
from onewatch.store.deliveries import prune_finished, reclaim_expired
from onewatch.store.transactions import write_transaction

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
        count = await reclaim_expired(
            runtime.engine,
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
    while count := await prune_finished(runtime.engine, older_than=older_than, limit=PRUNE_CHUNK):
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
        async with write_transaction(runtime.engine) as connection:
            count = await prune_audit(connection, older_than=older_than, limit=PRUNE_CHUNK)
        total += count
        if count < PRUNE_CHUNK:
            break
        await asyncio.sleep(0)
    if total:
        log.info("pruned audit log", count=total)
    return total


class Checkpointer:
    """Runs the PASSIVE checkpoint only when the WAL file changed since the last one.

    A checkpoint that finds nothing to copy still costs a connection and a statement;
    an idle node ran one a second, a third of its idle CPU. Any commit writes frames to
    the WAL, which changes its size or modification time, so a ``stat`` tells whether
    there can be anything to copy.
    """

    def __init__(self) -> None:
        self.seen: tuple[int, int] | None = None

    async def __call__(self, runtime: Runtime) -> int:
        """1 when it checkpointed, 0 when the WAL had not changed."""
        before = _stamp(sqlite_wal_file(runtime.engine))
        if before is not None and before == self.seen:
            return 0
        await checkpoint_sqlite_wal(runtime.engine)
        # Stamped before the checkpoint: a commit racing with it changes the stamp, so
        # the next round checkpoints again rather than missing it.
        self.seen = before
        return 1


def _stamp(wal: Path | None) -> tuple[int, int] | None:
    if wal is None:
        return None
    try:
        info = wal.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


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
    if is_sqlite(runtime.engine):
        jobs.append(_every(CHECKPOINT_SECONDS, stop, "checkpoint", Checkpointer(), runtime))
    await asyncio.gather(*jobs)
