"""Node identity and liveness: the rows of ``nodes``, each node keeping its own fresh.

There is no leader and no membership protocol: a node inserts its row at start,
refreshes ``heartbeat_at`` every ``node_heartbeat_seconds``, and marks ``stopped_at`` on
a clean shutdown (the loop doing so is ``engine.heartbeat``, which ``Runtime.start`` runs
on every node, whatever its roles). A node whose heartbeat is older than
``node_takeover_seconds`` is ``stale`` (it died or lost the database), and the other
nodes take over the deliveries it leased (``store.deliveries.reclaim_expired``); rows
silent for ``prune_after`` are deleted by whichever node beats next.
Everything here is a single conditional statement (in SQLite's write turn).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch import __version__
from onewatch.domain.statuses import NodeStatus
from onewatch.store.schema import nodes
from onewatch.store.writer import write_transaction

#: How often a node refreshes its heartbeat (``Settings.node_heartbeat_seconds``).
HEARTBEAT_INTERVAL = timedelta(seconds=1)
#: A node silent for this long is stale, its leases taken over
#: (``Settings.node_takeover_seconds``).
STALE_AFTER = 3 * HEARTBEAT_INTERVAL


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
