"""Node identity and liveness: the rows of ``nodes``, each node keeping its own fresh.

There is no leader and no membership protocol: a node inserts its row at start,
refreshes ``heartbeat_at`` every ``node_heartbeat_seconds``, and marks ``stopped_at`` on
a clean shutdown (the loop doing so is ``engine.heartbeat``, which ``Runtime.start`` runs
on every node, whatever its roles). A node whose heartbeat is older than
``node_takeover_seconds`` is ``stale`` (it died or lost the database), and the other
nodes take over the deliveries it leased (``store.deliveries.reclaim_expired``); rows
silent for ``prune_after`` are deleted by whichever node beats next.
Everything here is a single conditional statement (``Store`` methods run each in a write
transaction of its own).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.records import NodeInfo
from onewatch.store.schema import nodes


async def register_node(connection: AsyncConnection, node: NodeInfo) -> None:
    """Insert the node's row (a restarted process gets a new id, hence a new row)."""
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


async def beat(connection: AsyncConnection, node_id: str, now: datetime) -> bool:
    """Refresh the heartbeat; False when the row is gone (pruned) or marked stopped."""
    statement = (
        update(nodes)
        .where(nodes.c.id == node_id, nodes.c.stopped_at.is_(None))
        .values(heartbeat_at=now)
    )
    result = await connection.execute(statement)
    return result.rowcount == 1


async def mark_stopped(connection: AsyncConnection, node_id: str, now: datetime) -> bool:
    """Record a clean shutdown; False when the row was not there."""
    statement = update(nodes).where(nodes.c.id == node_id).values(stopped_at=now, heartbeat_at=now)
    result = await connection.execute(statement)
    return result.rowcount == 1


async def prune_nodes(connection: AsyncConnection, now: datetime, older_than: timedelta) -> int:
    """Delete the rows of nodes silent for ``older_than``; returns how many."""
    statement = delete(nodes).where(nodes.c.heartbeat_at < now - older_than)
    result = await connection.execute(statement)
    return result.rowcount


async def list_nodes(connection: AsyncConnection) -> list[NodeInfo]:
    """Every known node, oldest first."""
    statement = select(nodes).order_by(nodes.c.started_at, nodes.c.id)
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
