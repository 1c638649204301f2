"""Three node processes on one PostgreSQL database fire every occurrence, none twice;
a node killed with SIGKILL loses none (only what it had in flight may come twice); in
queue mode, a Redis restart mid-run loses none; in SQS mode (moto), a node killed
mid-run loses none either.

Each test has its own database and sink; the queue tests their own ``redis-server`` or
moto server. ``ONEWATCH_TEST_SCALE_OCCURRENCES`` (default 10,000) sets how many
occurrences fire; ``ONEWATCH_TEST_SCALE_SQS_OCCURRENCES`` (default 3,000) in SQS mode.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bench.moto_server import MotoServer, create_sqs_queue
from bench.sink import SinkProcess
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.queue.redis_streams import StreamNames, redis_client
from onewatch.settings import Settings
from onewatch.store.records import NodeInfo
from onewatch.store.schema import deliveries
from tests.backends.redis_server import RedisServer
from tests.scale.cluster import (
    OCCURRENCES,
    POLL_SECONDS,
    Nodes,
    abandoned_ids,
    insert_one_shots,
    leases,
    nodes_of,
    only_attempt_succeeded,
    received_per_id,
    sink_count,
    statuses,
    takeover_errors,
)
from tests.scale.sqs_queues import messages_left, sqs_queue
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

NODES = 3
#: Occurrences per second of the run (the spread is OCCURRENCES / RATE seconds).
RATE = 1000
#: In the kill test: short, so the dead node's leases expire soon, yet long enough that a
#: live node, holding at most ``MAX_HELD``, never loses one even on a loaded machine.
LEASE_SECONDS = 8.0
MAX_HELD = "200"
#: The dispatcher's default look-ahead, which a claim adds to the lease.
LOOKAHEAD_SECONDS = 1.0
#: SQS mode's burst, and its rate: moto (a local emulator, far slower than SQS) rebuilds
#: a queue's message list on each delete, so fewer, spread so that its queue stays short.
SQS_OCCURRENCES = int(os.environ.get("ONEWATCH_TEST_SCALE_SQS_OCCURRENCES", "3000"))
SQS_RATE = 300


async def started(nodes: Nodes, engine: AsyncEngine) -> None:
    await nodes.start(NODES)
    await all_reported(engine)


async def all_reported(engine: AsyncEngine) -> None:
    """Wait until each node reported in (its heartbeat): it is up and connected."""

    async def all_alive() -> bool:
        return sum(node.stopped_at is None for node in await nodes_of(engine)) == NODES

    await wait_for(all_alive, seconds=90, every=POLL_SECONDS)


async def fire(
    engine: AsyncEngine, sink: SinkProcess, count: int = OCCURRENCES, rate: float = RATE
) -> datetime:
    """Insert the run's one-shots, due from two seconds on; returns the first due."""
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    spread = timedelta(seconds=count / rate)
    await insert_one_shots(engine, count, first_due, spread, sink.url("/scale"))
    return first_due


async def until_a_third_delivered(sink: SinkProcess, count: int = OCCURRENCES) -> None:
    """Mid-run: a third of the occurrences reached the sink."""

    async def a_third() -> bool:
        return await sink_count(sink, "/scale") >= count // 3

    await wait_for(a_third, seconds=90, every=POLL_SECONDS)


async def all_succeeded(engine: AsyncEngine, count: int = OCCURRENCES) -> bool:
    return await statuses(engine) == {"succeeded": count}


async def delivery_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.execute(select(deliveries.c.id))).scalars())


async def finish(
    nodes: Nodes, engine: AsyncEngine, started_at: float, count: int = OCCURRENCES
) -> list[int]:
    """Wait for every delivery to succeed, stop the nodes, report the duration."""
    try:
        await wait_for(lambda: all_succeeded(engine, count), seconds=150, every=POLL_SECONDS)
    finally:
        codes = await nodes.stop()
    print(f"{count} occurrences on {NODES} nodes: {time.monotonic() - started_at:.1f} s")
    return codes


def by_pid(found: list[NodeInfo]) -> dict[int, NodeInfo]:
    return {node.pid: node for node in found}


async def test_three_nodes_deliver_every_occurrence_once(
    shared_engine: AsyncEngine, settings: Settings, sink: SinkProcess, tmp_path: Path
) -> None:
    nodes = Nodes(settings, tmp_path)
    began = time.monotonic()
    await started(nodes, shared_engine)
    await fire(shared_engine, sink)
    assert await finish(nodes, shared_engine, began) == [0] * NODES

    per_id = await received_per_id(sink, "/scale")
    assert set(per_id) == await delivery_ids(shared_engine)
    assert len(per_id) == OCCURRENCES, "every occurrence delivered"
    assert max(per_id.values()) == 1, "none twice"
    assert await abandoned_ids(shared_engine) == set()
    reported = await nodes_of(shared_engine)
    assert {node.pid for node in reported} == {p.pid for p in nodes.processes}
    assert all(node.stopped_at is not None for node in reported), "each stopped cleanly"


def lease_of(index: int) -> float:
    """Node ``index``'s lease, a little longer per node, so its rows name their holder."""
    return LEASE_SECONDS + index / 10


def distinct_leases(index: int) -> dict[str, str]:
    return {"ONEWATCH_DISPATCHER_LEASE_SECONDS": str(lease_of(index))}


async def busiest_node(engine: AsyncEngine) -> int:
    """The node holding the most leases right now (by the lease length of each row)."""
    held = Counter(leases_by_node(await leases(engine)).values())
    return held.most_common(1)[0][0]


def leases_by_node(leased: dict[str, float]) -> dict[str, int]:
    """Leased delivery -> the index of the node holding it (a claim leases for the lease
    plus the look-ahead; a renewal that lengthens it, for the lease alone)."""
    by_length = {lease_of(index) + LOOKAHEAD_SECONDS: index for index in range(NODES)}
    by_length |= {lease_of(index): index for index in range(NODES)}
    return {ident: by_length[length] for ident, length in leased.items()}


def killable_nodes(settings: Settings, tmp_path: Path, **env: str) -> Nodes:
    # Small claims and few held at once share each second's work among the nodes.
    return Nodes(
        settings,
        tmp_path,
        ONEWATCH_DISPATCHER_BATCH_SIZE="50",
        ONEWATCH_DISPATCHER_MAX_HELD=MAX_HELD,
        **env,
    )


async def kill_the_busiest_mid_run(
    nodes: Nodes,
    shared_engine: AsyncEngine,
    sink: SinkProcess,
    count: int = OCCURRENCES,
    rate: float = RATE,
) -> tuple[int, set[str]]:
    """Start the nodes, fire, SIGKILL the node holding most leases once a third arrived;
    returns its index and the deliveries it held."""
    await nodes.start(NODES, distinct_leases)
    await all_reported(shared_engine)
    await fire(shared_engine, sink, count, rate)
    await until_a_third_delivered(sink, count)
    victim = await busiest_node(shared_engine)
    nodes.kill(victim)
    await nodes.processes[victim].wait()
    # The dead node's rows stay leased to it until its heartbeat is stale (3 s); a test
    # process starved for longer on a loaded machine reads fewer, never others'.
    held = leases_by_node(await leases(shared_engine))
    return victim, {ident for ident, index in held.items() if index == victim}


async def check_only_the_victim_doubled(
    nodes: Nodes,
    shared_engine: AsyncEngine,
    sink: SinkProcess,
    victim: int,
    held: set[str],
    count: int = OCCURRENCES,
) -> None:
    per_id = await received_per_id(sink, "/scale")
    assert set(per_id) == await delivery_ids(shared_engine)
    assert len(per_id) == count, "every occurrence delivered"
    twice = {ident for ident, count in per_id.items() if count > 1}
    print(f"killed node {victim} held {len(held)}; {len(twice)} came twice")
    assert held, "the node was killed holding deliveries"
    dead = by_pid(await nodes_of(shared_engine))[nodes.processes[victim].pid]
    taken = await takeover_errors(shared_engine)
    # A COMMIT it sent just before SIGKILL may land after the read of ``held``: those it
    # recorded itself, once, as succeeded; the rest were taken over.
    recorded_by_it = await only_attempt_succeeded(shared_engine, held - set(taken))
    assert held - set(taken) == recorded_by_it, "all its leases were taken over"
    live = {ident: error for ident, error in taken.items() if dead.id not in error}
    assert not live, f"only its: none from a live node ({len(live)}: {set(live.values())})"
    assert twice <= set(taken), "only what was in flight on the dead node came twice"
    assert max(per_id.values()) <= 2
    assert dead.stopped_at is None, "a killed node never reports a clean stop"


def exit_codes_of_survivors(codes: list[int], victim: int) -> list[int]:
    return [code for index, code in enumerate(codes) if index != victim]


async def test_a_node_killed_mid_run_loses_nothing(
    shared_engine: AsyncEngine, settings: Settings, sink: SinkProcess, tmp_path: Path
) -> None:
    nodes = killable_nodes(settings, tmp_path)
    began = time.monotonic()
    victim, held = await kill_the_busiest_mid_run(nodes, shared_engine, sink)
    codes = await finish(nodes, shared_engine, began)
    assert exit_codes_of_survivors(codes, victim) == [0] * (NODES - 1)
    await check_only_the_victim_doubled(nodes, shared_engine, sink, victim, held)


async def test_queue_mode_a_node_killed_mid_run_loses_nothing(
    shared_engine: AsyncEngine,
    settings: Settings,
    sink: SinkProcess,
    own_redis: RedisServer,
    tmp_path: Path,
) -> None:
    nodes = killable_nodes(
        settings,
        tmp_path,
        ONEWATCH_QUEUE_URL=own_redis.url,
        ONEWATCH_QUEUE_CLAIM_IDLE_SECONDS="3",
    )
    began = time.monotonic()
    victim, held = await kill_the_busiest_mid_run(nodes, shared_engine, sink)
    client = redis_client(own_redis.url)
    names = StreamNames()

    async def every_entry_acknowledged() -> bool:
        # Including those the dead consumer held: taken over (XAUTOCLAIM) and settled.
        return int((await client.xpending(names.stream, names.group))["pending"]) == 0

    try:
        await wait_for(lambda: all_succeeded(shared_engine), seconds=150, every=POLL_SECONDS)
        await wait_for(every_entry_acknowledged, seconds=30, every=POLL_SECONDS)
    finally:
        await client.aclose()
        codes = await finish(nodes, shared_engine, began)
    assert exit_codes_of_survivors(codes, victim) == [0] * (NODES - 1)
    await check_only_the_victim_doubled(nodes, shared_engine, sink, victim, held)


async def test_sqs_mode_a_node_killed_mid_run_loses_nothing(
    shared_engine: AsyncEngine,
    settings: Settings,
    sink: SinkProcess,
    moto_server: MotoServer,
    tmp_path: Path,
) -> None:
    name = f"onewatch-scale-{secrets.token_hex(4)}"
    create_sqs_queue(moto_server.endpoint_url, name)
    # The nodes inherit the AWS variables ``moto_server`` set; a short visibility timeout
    # brings the dead node's messages back soon (the live ones extend theirs).
    nodes = killable_nodes(
        settings,
        tmp_path,
        ONEWATCH_QUEUE_URL=f"sqs://{name}",
        ONEWATCH_QUEUE_SQS_WAIT_SECONDS="1",
        ONEWATCH_QUEUE_SQS_VISIBILITY_TIMEOUT_SECONDS="5",
    )
    began = time.monotonic()
    count = SQS_OCCURRENCES
    victim, held = await kill_the_busiest_mid_run(nodes, shared_engine, sink, count, SQS_RATE)
    async with sqs_queue(name, create=False) as queue:

        async def every_message_deleted() -> bool:
            # Including those the dead node held: shown again, refused by the store or
            # claimed, and deleted by a live node.
            return await messages_left(queue) == 0

        try:
            await wait_for(lambda: all_succeeded(shared_engine, count), seconds=150)
            await wait_for(every_message_deleted, seconds=30, every=POLL_SECONDS)
        finally:
            codes = await finish(nodes, shared_engine, began, count)
    assert exit_codes_of_survivors(codes, victim) == [0] * (NODES - 1)
    await check_only_the_victim_doubled(nodes, shared_engine, sink, victim, held, count)


async def overdue_waiting(engine: AsyncEngine) -> bool:
    """Deliveries due more than a second ago are still waiting to be sent."""
    cutoff = datetime.now(UTC) - timedelta(seconds=1)
    query = select(func.count()).where(
        deliveries.c.status == "pending", deliveries.c.next_attempt_at < cutoff
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one()) > 0


async def test_queue_mode_survives_a_redis_restart_mid_run(
    shared_engine: AsyncEngine,
    settings: Settings,
    sink: SinkProcess,
    own_redis: RedisServer,
    tmp_path: Path,
) -> None:
    nodes = Nodes(
        settings,
        tmp_path,
        ONEWATCH_QUEUE_URL=own_redis.url,
        ONEWATCH_QUEUE_REPUBLISH_SECONDS="3",
    )
    began = time.monotonic()
    await started(nodes, shared_engine)
    await fire(shared_engine, sink)
    await until_a_third_delivered(sink)
    own_redis.kill()
    # With the queue gone, due deliveries wait in the table (and are not lost).
    await wait_for(lambda: overdue_waiting(shared_engine), seconds=30, every=POLL_SECONDS)
    own_redis.start()  # empty: the stream, the group and every entry are gone
    assert await finish(nodes, shared_engine, began) == [0] * NODES

    per_id = await received_per_id(sink, "/scale")
    assert set(per_id) == await delivery_ids(shared_engine)
    assert len(per_id) == OCCURRENCES, "every occurrence delivered"
    twice = {ident for ident, count in per_id.items() if count > 1}
    taken = await takeover_errors(shared_engine)
    print(f"{len(taken)} taken over from a node that looked dead; {len(twice)} came twice")
    # No node dies here, but on a loaded machine one can starve past the take-over time
    # (3 s without a heartbeat) and so look dead: its leases are taken over. It then sends
    # none it had not started sending (``test_paused_node``), and a take-over never
    # acts on a stale look (``tests/store/test_takeover``). Only a request already out
    # when its lease went may come twice: that node could no longer record its result.
    assert twice <= set(taken), "none twice but what a node that looked dead had out"
    assert all("stopped heartbeating" in taken[ident] for ident in twice)
    assert max(per_id.values()) <= 2
