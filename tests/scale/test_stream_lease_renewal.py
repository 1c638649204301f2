"""Queue mode with leases renewed: a stream entry held past the take-over idle time.

Renewal extends the lease on the row, not the stream entry, so once a node has held an
entry unacknowledged for ``queue_claim_idle_seconds`` another consumer takes it over
(``XAUTOCLAIM``). That node's claim is refused by the store (the row is running under
the renewed lease), so it acknowledges and drops the entry; the holder still sends the
delivery once and records it. Nothing is sent twice and nothing is left on the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.roles import background_roles
from onewatch.engine.stream_source import StreamSource
from onewatch.queue.redis_streams import RedisStreamSource, StreamNames, redis_client
from onewatch.runtime import Runtime
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.schema import deliveries
from tests.backends.redis_server import RedisServer
from tests.engine.support import Sink, add_event, attempts_of, rows, settings_for, utcnow, wait_for


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


async def test_an_entry_taken_over_while_its_lease_is_renewed_is_sent_once(
    store_url: str,
    store: SqlStore,
    store_engine: AsyncEngine,
    own_redis: RedisServer,
    sink: Sink,
    tmp_path: Path,
) -> None:
    settings = settings_for(
        tmp_path,
        database_url=store_url,
        queue_url=own_redis.url,
        dispatcher_lease_seconds=1.0,
        http_total_timeout_seconds=10.0,
        dispatcher_shutdown_grace_seconds=0.3,
    )
    holder = Runtime(settings=settings, store=open_store(store_url))  # a node of its own
    names = StreamNames()
    client = redis_client(own_redis.url)
    # Another node's consumer, taking over entries idle for half a second.
    other = StreamSource(
        store,
        RedisStreamSource(
            client,
            "other-node",
            names,
            block=timedelta(milliseconds=100),
            claim_idle=timedelta(milliseconds=500),
        ),
        lookahead_seconds=1.0,
        lease_seconds=1.0,
    )
    sink.delays["/slow"] = 4.0
    await holder.start(background_roles())
    try:
        await add_event(
            store_engine,
            key="slow",
            pattern=(utcnow() + timedelta(milliseconds=300)).isoformat(),
            target_type="webhook",
            target={"endpoint": f"{sink.base}/slow"},
        )
        holder.wakeup.notify()
        await wait_for(lambda: len(sink.on("/slow")) == 1, seconds=15, what="the request")
        (ident,) = [request.headers["webhook-id"] for request in sink.on("/slow")]

        async def taken_over_and_dropped() -> bool:
            assert await other.claim(now=utcnow(), limit=10) == [], "refused by the store"
            pending = int((await client.xpending(names.stream, names.group))["pending"])
            return pending == 0 and int(await client.xlen(names.stream)) == 0

        await wait_for(taken_over_and_dropped, what="the other consumer to drop the entry")
        (row,) = await rows(store_engine, deliveries, deliveries.c.id == ident)
        assert row["status"] == "running", "still the holder's, lease renewed"

        async def succeeded() -> bool:
            (row,) = await rows(store_engine, deliveries, deliveries.c.id == ident)
            return bool(row["status"] == "succeeded")

        await wait_for(succeeded, seconds=15, what="the holder to record its result")
    finally:
        await holder.stop()
        await other.close()
        await client.aclose()
    assert len(sink.on("/slow")) == 1, "sent once"
    assert [a["outcome"] for a in await attempts_of(store_engine, ident)] == ["succeeded"]
