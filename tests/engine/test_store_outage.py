"""The scheduler and the dispatcher outlive a PostgreSQL outage and fire once it is over.

The node reaches PostgreSQL through ``tests.support.tcp_proxy``; the test reads the
store directly. While the proxy resets every connection, a due occurrence cannot be
fired; once it forwards again, the same loops (never restarted) fire it exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from onewatch.engine.roles import background_roles
from onewatch.store import open_store
from tests.engine.support import (
    ManualClock,
    Sink,
    add_event,
    deliveries_of,
    make_runtime,
    settings_for,
    wait_for,
)
from tests.support.databases import fresh_database_url
from tests.support.tcp_proxy import tcp_proxy

START = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
FIRST_FIRE = datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
#: Connection attempts the node makes while cut: its loops keep trying after a failure.
ATTEMPTS_WHILE_DOWN = 3


@pytest.mark.postgres
async def test_a_postgres_outage_delays_a_fire_and_the_loops_resume(
    tmp_path: Path, sink: Sink
) -> None:
    clock = ManualClock(START)
    async with fresh_database_url("postgres", tmp_path) as url, tcp_proxy(url) as proxy:
        settings = settings_for(tmp_path, database_url=proxy.url_for(url))
        runtime = await make_runtime(settings, clock)
        direct = open_store(url).engine
        try:
            event_id = await add_event(
                direct,
                key="every-minute",
                pattern="* * * * *",
                target_type="webhook",
                target={"endpoint": f"{sink.base}/tick"},
                after=clock.now(),
                now=clock.now(),
            )
            await runtime.start(background_roles())
            await proxy.cut(refuse=False)
            clock.moment = FIRST_FIRE
            runtime.wakeup.notify()
            await wait_for(
                lambda: proxy.turned_away >= ATTEMPTS_WHILE_DOWN,
                seconds=30,
                what="the node retrying while PostgreSQL is down",
            )
            fired_while_down = await deliveries_of(direct, event_id)
            await proxy.restore()
            await wait_for(lambda: len(sink.on("/tick")) == 1, seconds=30, what="the fire")
            fired = await deliveries_of(direct, event_id)
        finally:
            await runtime.stop()
            await direct.dispose()
    assert fired_while_down == []
    assert [row["scheduled_for"] for row in fired] == [FIRST_FIRE]
    assert sink.on("/tick")[0].headers["Onewatch-Scheduled-For"] == "2030-01-01T00:01:00Z"
