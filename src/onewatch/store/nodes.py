"""Node identity and liveness: each node keeps its own row in ``nodes`` fresh.

There is no leader and no membership protocol: a node inserts its row at start,
refreshes ``heartbeat_at`` every ``node_heartbeat_seconds``, and marks ``stopped_at`` on
a clean shutdown; ``Runtime.start`` runs this on every node, whatever its roles. A node
whose heartbeat is older than ``node_takeover_seconds`` is ``stale`` (it died or lost
the database), and the other nodes take over the deliveries it leased
(``store.deliveries.reclaim_expired``); rows silent for ``prune_after`` are deleted by
whichever node beats next.
Everything here is a single conditional statement (in SQLite's write turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch import __version__
from onewatch.domain.statuses import NodeStatus
from onewatch.store.schema import nodes
from onewatch.store.writer import write_transaction

if TYPE_CHECKING:
    from onewatch.runtime import RoleRunner, Runtime

log = structlog.get_logger(__name__)

#: How often a node refreshes its heartbeat (``Settings.node_heartbeat_seconds``).
HEARTBEAT_INTERVAL = timedelta(seconds=1)
#: A node silent for this long is stale, its leases taken over
#: (``Settings.node_takeover_seconds``).
STALE_AFTER = 3 * HEARTBEAT_INTERVAL
#: A node silent (or stopped) for this long is removed from the table.
PRUNE_AFTER = timedelta(days=1)


def new_node_id() -> str:
    """A fresh identity for one node process (also its Redis consumer name)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class NodeInfo:
    """One row of ``nodes``."""

    id: str
    hostname: str
    pid: int
    roles: tuple[str, ...]
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None

    def status(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> NodeStatus:
        if self.stopped_at is not None:
            return NodeStatus.STOPPED
        return NodeStatus.STALE if now - self.heartbeat_at > stale_after else NodeStatus.ALIVE


def this_node(node_id: str, roles: Sequence[str], now: datetime) -> NodeInfo:
    """The row describing the current process."""
    return NodeInfo(
        id=node_id,
        hostname=socket.gethostname()[:255],
        pid=os.getpid(),
        roles=tuple(roles),
        version=__version__,
        started_at=now,
        heartbeat_at=now,
    )


async def register_node(engine: AsyncEngine, node: NodeInfo) -> None:
    """Insert the node's row (a restarted process gets a new id, hence a new row)."""
    async with write_transaction(engine) as connection:
        await connection.execute(
            insert(nodes).values(
                id=node.id,
                hostname=node.hostname,
                pid=node.pid,
                roles=list(node.roles),
                version=node.version,
                started_at=node.started_at,
                heartbeat_at=node.heartbeat_at,
            )
        )


async def beat(engine: AsyncEngine, node_id: str, now: datetime) -> bool:
    """Refresh the heartbeat; False when the row is gone (pruned) or marked stopped."""
    statement = (
        update(nodes)
        .where(nodes.c.id == node_id, nodes.c.stopped_at.is_(None))
        .values(heartbeat_at=now)
    )
    async with write_transaction(engine) as connection:
        result = await connection.execute(statement)
    return result.rowcount == 1


async def mark_stopped(engine: AsyncEngine, node_id: str, now: datetime) -> bool:
    """Record a clean shutdown; False when the row was not there."""
    statement = update(nodes).where(nodes.c.id == node_id).values(stopped_at=now, heartbeat_at=now)
    async with write_transaction(engine) as connection:
        result = await connection.execute(statement)
    return result.rowcount == 1


async def prune_nodes(engine: AsyncEngine, now: datetime, older_than: timedelta) -> int:
    """Delete the rows of nodes silent for ``older_than``; returns how many."""
    statement = delete(nodes).where(nodes.c.heartbeat_at < now - older_than)
    async with write_transaction(engine) as connection:
        result = await connection.execute(statement)
    return result.rowcount


async def list_nodes(engine: AsyncEngine) -> list[NodeInfo]:
    """Every known node, oldest first."""
    statement = select(nodes).order_by(nodes.c.started_at, nodes.c.id)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).mappings().all()
    return [
        NodeInfo(
            id=row["id"],
            hostname=row["hostname"],
            pid=row["pid"],
            roles=tuple(row["roles"]),
            version=row["version"],
            started_at=row["started_at"],
            heartbeat_at=row["heartbeat_at"],
            stopped_at=row["stopped_at"],
        )
        for row in rows
    ]


async def _beat_and_prune(runtime: Runtime, node: NodeInfo, prune_after: timedelta) -> None:
    now = runtime.clock.now()
    if not await beat(runtime.engine, node.id, now):
        # Pruned while this node could not reach the database: come back under its id.
        await register_node(runtime.engine, _refreshed(node, now))
    await prune_nodes(runtime.engine, now, prune_after)


def _refreshed(node: NodeInfo, now: datetime) -> NodeInfo:
    return NodeInfo(
        id=node.id,
        hostname=node.hostname,
        pid=node.pid,
        roles=node.roles,
        version=node.version,
        started_at=node.started_at,
        heartbeat_at=now,
    )


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


async def _report(
    runtime: Runtime, node: NodeInfo, registered: bool, prune_after: timedelta
) -> bool:
    """Register, or beat once registered; a database outage is logged and retried."""
    try:
        if registered:
            await _beat_and_prune(runtime, node, prune_after)
        else:
            await register_node(runtime.engine, node)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("node heartbeat failed", node_id=node.id, error=str(exc))
        return registered
    return True


def heartbeat_runner(
    interval: timedelta | None = None, prune_after: timedelta = PRUNE_AFTER
) -> RoleRunner:
    """A role runner that registers this node, beats until ``stop``, then marks it
    stopped; every ``interval`` (by default the node's ``node_heartbeat_seconds``)."""

    async def run_heartbeat(runtime: Runtime, stop: asyncio.Event) -> None:
        node = this_node(runtime.node_id, runtime.settings.roles, runtime.clock.now())
        seconds = _interval_seconds(runtime, interval)
        registered = False
        try:
            while not stop.is_set():
                registered = await _report(runtime, node, registered, prune_after)
                await _sleep_unless_stopped(stop, seconds)
        finally:
            if registered:
                with contextlib.suppress(SQLAlchemyError, OSError):
                    await mark_stopped(runtime.engine, node.id, runtime.clock.now())

    return run_heartbeat


def _interval_seconds(runtime: Runtime, interval: timedelta | None) -> float:
    if interval is not None:
        return interval.total_seconds()
    return runtime.settings.node_heartbeat_seconds


#: The heartbeat with the node's own timing, for ``Runtime.start``.
run_heartbeat = heartbeat_runner()
