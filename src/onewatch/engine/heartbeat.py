"""The heartbeat loop every node runs, whatever its roles (``Runtime.start``).

It registers the node's row, refreshes ``heartbeat_at`` every ``node_heartbeat_seconds``
and prunes rows silent for ``prune_after``, and on a clean stop marks the row stopped;
the row operations are ``Store``'s (``store.nodes``). A database outage is logged and retried on the
next beat, so the loop outlives it and the node comes back under its own id. Each beat
that committed is reported to the node's ``engine.beat_chain`` (until when its leases
are safe from a take-over), and a dispatcher that needs a beat at once wakes the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import SQLAlchemyError

from onewatch.engine.waiting import first_of
from onewatch.store.records import NodeInfo, this_node

if TYPE_CHECKING:
    from onewatch.runtime import RoleRunner, Runtime

log = structlog.get_logger(__name__)

#: A node silent (or stopped) for this long is removed from the table.
PRUNE_AFTER = timedelta(days=1)


async def _beat_and_prune(runtime: Runtime, node: NodeInfo, prune_after: timedelta) -> None:
    now = runtime.clock.now()
    if not await runtime.store.beat(node.id, now):
        # Pruned while this node could not reach the database: come back under its id.
        await runtime.store.register_node(_refreshed(node, now))
    runtime.beat_chain.beaten(now)
    await runtime.store.prune_nodes(now, prune_after)


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


async def _sleep_unless_stopped(runtime: Runtime, stop: asyncio.Event, seconds: float) -> None:
    """Until the next beat is due, ``stop``, or the dispatcher wants a beat at once."""
    wanted = runtime.beat_chain.wanted
    await first_of(stop.wait(), wanted.wait(), seconds=seconds)
    wanted.clear()


async def _report(
    runtime: Runtime, node: NodeInfo, registered: bool, prune_after: timedelta
) -> bool:
    """Register, or beat once registered; a database outage is logged and retried."""
    try:
        if registered:
            await _beat_and_prune(runtime, node, prune_after)
        else:
            await runtime.store.register_node(node)
            runtime.beat_chain.beaten(node.heartbeat_at)
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
        runtime.beat_chain.running = True
        try:
            while not stop.is_set():
                registered = await _report(runtime, node, registered, prune_after)
                await _sleep_unless_stopped(runtime, stop, seconds)
        finally:
            runtime.beat_chain.running = False
            if registered:
                with contextlib.suppress(SQLAlchemyError, OSError):
                    await runtime.store.mark_stopped(node.id, runtime.clock.now())

    return run_heartbeat


def _interval_seconds(runtime: Runtime, interval: timedelta | None) -> float:
    if interval is not None:
        return interval.total_seconds()
    return runtime.settings.node_heartbeat_seconds


#: The heartbeat with the node's own timing, for ``Runtime.start``.
run_heartbeat = heartbeat_runner()
