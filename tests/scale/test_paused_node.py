"""A node that only looked dead sends nothing twice that it had not sent already.

Three nodes on one PostgreSQL database fire the run's occurrences; mid-run one is paused
(SIGSTOP) for longer than the take-over time, as a starved event loop on a loaded
machine would be: the others take its leases over and send them. Once it resumes it
still holds those deliveries, their instants long past. It must drop them unsent
(``engine.beat_chain``), not send them too: the double the queue-mode Redis-restart test
(``test_many_nodes``) saw when a busy node's heartbeat came late.

Only what the paused node had already started sending may come twice: it passed its
check before the pause, so its request was out (or its connection opening) and the
node could not record the result before its leases were taken over: at-least-once.
So every delivery that came twice was taken over, and none the node dropped unsent on
resuming (its log names them) came twice; it resumes holding some, or the test proves
nothing. Without the check it sends all of those at once, their instants long past.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from bench.sink import SinkProcess
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.settings import Settings
from onewatch.store.schema import deliveries
from tests.scale.cluster import (
    OCCURRENCES,
    POLL_SECONDS,
    Nodes,
    nodes_of,
    received_per_id,
    takeover_errors,
)
from tests.scale.test_many_nodes import (
    NODES,
    by_pid,
    delivery_ids,
    finish,
    fire,
    started,
    until_a_third_delivered,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]


async def holding_most(nodes: Nodes, engine: AsyncEngine) -> int:
    """The index of the node leasing the most deliveries right now (``leased_by``)."""
    query = select(deliveries.c.leased_by).where(deliveries.c.status == "running")
    async with engine.connect() as connection:
        held = Counter((await connection.execute(query)).scalars())
    node_id = held.most_common(1)[0][0]
    pid = next(node.pid for node in await nodes_of(engine) if node.id == node_id)
    return next(i for i, process in enumerate(nodes.processes) if process.pid == pid)


async def pause_until_taken_over(nodes: Nodes, engine: AsyncEngine, index: int) -> None:
    """SIGSTOP node ``index`` until another node took its leases over, then SIGCONT."""
    process = nodes.processes[index]
    node_id = by_pid(await nodes_of(engine))[process.pid].id
    process.send_signal(signal.SIGSTOP)
    try:

        async def taken_over() -> bool:
            return any(node_id in error for error in (await takeover_errors(engine)).values())

        await wait_for(taken_over, seconds=60, every=POLL_SECONDS)
    finally:
        process.send_signal(signal.SIGCONT)


def dropped_unsent(log: Path) -> set[str]:
    """Deliveries the node's log says it dropped unsent (their lease taken over)."""
    dropped = set()
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event", "").endswith("dropped unsent"):
            dropped.add(entry["delivery_id"])
    return dropped


async def test_a_paused_node_sends_none_of_what_was_taken_over(
    shared_engine: AsyncEngine, settings: Settings, sink: SinkProcess, tmp_path: Path
) -> None:
    nodes = Nodes(settings, tmp_path)
    began = time.monotonic()
    await started(nodes, shared_engine)
    await fire(shared_engine, sink)
    await until_a_third_delivered(sink)
    paused = await holding_most(nodes, shared_engine)
    await pause_until_taken_over(nodes, shared_engine, paused)
    assert await finish(nodes, shared_engine, began) == [0] * NODES, "it lived on"

    per_id = await received_per_id(sink, "/scale")
    assert set(per_id) == await delivery_ids(shared_engine)
    assert len(per_id) == OCCURRENCES, "every occurrence delivered"
    taken = set(await takeover_errors(shared_engine))
    twice = {ident for ident, count in per_id.items() if count > 1}
    print(f"{len(taken)} taken over from the paused node; {len(twice)} came twice")
    assert twice <= taken, "only what was taken over came twice"
    dropped = dropped_unsent(tmp_path / f"node-{paused}.log")
    print(f"it dropped {len(dropped)} unsent on resuming")
    assert dropped, "it resumed holding deliveries that were taken over"
    assert dropped <= taken
    assert {ident for ident in dropped if per_id[ident] > 1} == set(), "none of those twice"
    assert max(per_id.values()) <= 2
