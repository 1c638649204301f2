"""Failover between node processes: a node killed with SIGKILL while holding leased
deliveries has them taken over by the survivor within seconds, not after the lease.

Every node keeps the default 60 s lease; the survivor must have delivered all of the
dead node's deliveries within ``TAKEOVER_DEADLINE`` of the kill, which it could only do
by taking them over on the dead node's stale heartbeat (a correctness bound, not a
speed benchmark). Nothing is lost, and only what reached the target before the kill
(in flight, unrecorded) comes twice. With the deliveries table as the queue, and with
Redis Streams.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bench.sink import SinkProcess
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.settings import Settings
from onewatch.store.schema import deliveries
from tests.backends.redis_server import RedisServer
from tests.scale.cluster import (
    POLL_SECONDS,
    Nodes,
    insert_one_shots,
    nodes_of,
    only_attempt_succeeded,
    received_per_id,
    sink_count,
    statuses,
    takeover_errors,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

NODES = 2
OCCURRENCES = 2000
#: Spread over ten seconds, so the kill comes while both nodes are busy.
SPREAD = timedelta(seconds=10)
#: Far below the 60 s lease the nodes keep: only a heartbeat take-over meets it.
TAKEOVER_DEADLINE = 20.0
LEASE_SECONDS = 60.0


async def leased_by(engine: AsyncEngine) -> dict[str, str]:
    """Deliveries leased right now -> the node id holding each."""
    query = select(deliveries.c.id, deliveries.c.leased_by).where(deliveries.c.status == "running")
    async with engine.connect() as connection:
        return {row.id: row.leased_by for row in (await connection.execute(query)).all()}


async def start_and_fire(nodes: Nodes, shared_engine: AsyncEngine, sink: SinkProcess) -> None:
    await nodes.start(NODES)

    async def all_alive() -> bool:
        return sum(node.stopped_at is None for node in await nodes_of(shared_engine)) == NODES

    await wait_for(all_alive, seconds=90, every=POLL_SECONDS, what="every node to report in")
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    await insert_one_shots(shared_engine, OCCURRENCES, first_due, SPREAD, sink.url("/failover"))

    async def a_third_delivered() -> bool:
        return await sink_count(sink, "/failover") >= OCCURRENCES // 3

    await wait_for(a_third_delivered, seconds=90, every=POLL_SECONDS, what="a third delivered")


async def kill_the_busiest(nodes: Nodes, shared_engine: AsyncEngine) -> tuple[str, set[str], float]:
    """SIGKILL the node holding most leases; its id, its deliveries then (read within
    the take-over time, unless this process is starved), and when it died."""
    pids = {node.id: node.pid for node in await nodes_of(shared_engine)}
    held = await leased_by(shared_engine)
    busiest = max(pids, key=lambda ident: sum(h == ident for h in held.values()))
    victim = next(i for i, p in enumerate(nodes.processes) if p.pid == pids[busiest])
    nodes.kill(victim)
    await nodes.processes[victim].wait()
    killed_at = asyncio.get_running_loop().time()
    held = {
        ident for ident, holder in (await leased_by(shared_engine)).items() if holder == busiest
    }
    return busiest, held, killed_at


async def check_taken_over(
    shared_engine: AsyncEngine,
    sink: SinkProcess,
    dead: str,
    held: set[str],
    sent_before: set[str],
    killed_at: float,
) -> None:
    async def all_of_its_delivered() -> bool:
        return held <= set(await received_per_id(sink, "/failover")) and not (
            held & set(await leased_by(shared_engine))
        )

    await wait_for(all_of_its_delivered, seconds=TAKEOVER_DEADLINE, every=POLL_SECONDS)
    print(
        f"dead node's {len(held)} deliveries taken over in "
        f"{asyncio.get_running_loop().time() - killed_at:.1f} s"
    )

    async def all_succeeded() -> bool:
        return await statuses(shared_engine) == {"succeeded": OCCURRENCES}

    await wait_for(all_succeeded, seconds=120, every=POLL_SECONDS, what="every delivery")
    per_id = await received_per_id(sink, "/failover")
    assert len(per_id) == OCCURRENCES, "every occurrence delivered"
    twice = {ident for ident, count in per_id.items() if count > 1}
    assert held, "the node was killed holding deliveries"
    taken = await takeover_errors(shared_engine)
    # The read of ``held`` may come before PostgreSQL finishes a COMMIT the node sent just
    # before SIGKILL: those it recorded itself, once, as succeeded; the rest were taken over.
    recorded_by_it = await only_attempt_succeeded(shared_engine, held - set(taken))
    assert held - set(taken) == recorded_by_it, "all its leases were taken over"
    assert all(dead in error for error in taken.values()), "only its: none from a live node"
    assert twice <= sent_before, "only what it had in flight came twice"
    assert max(per_id.values()) <= 2


async def run_kill(nodes: Nodes, shared_engine: AsyncEngine, sink: SinkProcess) -> None:
    try:
        await start_and_fire(nodes, shared_engine, sink)
        dead, held, killed_at = await kill_the_busiest(nodes, shared_engine)
        # Of its deliveries, those the target had seen when it died: in flight.
        sent_before = held & set(await received_per_id(sink, "/failover"))
        await check_taken_over(shared_engine, sink, dead, held, sent_before, killed_at)
    finally:
        codes = await nodes.stop()
    assert sorted(codes) == [-9, 0], "the survivor stopped cleanly"


async def test_a_killed_nodes_leases_are_taken_over_within_seconds(
    shared_engine: AsyncEngine, settings: Settings, sink: SinkProcess, tmp_path: Path
) -> None:
    nodes = Nodes(settings, tmp_path, ONEWATCH_DISPATCHER_LEASE_SECONDS=str(LEASE_SECONDS))
    await run_kill(nodes, shared_engine, sink)


async def test_queue_mode_a_killed_nodes_leases_are_taken_over_within_seconds(
    shared_engine: AsyncEngine,
    settings: Settings,
    sink: SinkProcess,
    own_redis: RedisServer,
    tmp_path: Path,
) -> None:
    nodes = Nodes(
        settings,
        tmp_path,
        ONEWATCH_DISPATCHER_LEASE_SECONDS=str(LEASE_SECONDS),
        ONEWATCH_QUEUE_URL=own_redis.url,
    )
    await run_kill(nodes, shared_engine, sink)
