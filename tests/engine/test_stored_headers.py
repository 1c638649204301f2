"""Rows stored before the API refused framing headers and dot segments cannot use them.

The rows are written straight into the store, as an older version accepted them; the
target is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

from datetime import timedelta

from onewatch.runtime import Runtime
from tests.engine.support import (
    Sink,
    add_action,
    add_event,
    attempts_of,
    deliveries_of,
    utcnow,
    wait_for,
)


async def test_a_stored_host_header_is_not_sent(running: Runtime, sink: Sink) -> None:
    engine = running.store.engine
    await add_action(
        engine,
        key="old",
        target={
            "endpoint": f"{sink.base}/hooks/<id>",
            "headers": {"Host": "internal.example", "content-LENGTH": "0", "X-Team": "billing"},
            "timeout": 5,
        },
    )
    event_id = await add_event(
        engine,
        key="old-row",
        pattern=(utcnow() + timedelta(milliseconds=200)).isoformat(),
        action_key="old",
        params={
            "url": {"id": "7"},
            "body": {"amount": 10},
            "header": {"X-Split": "a\r\nInjected: 1", "Transfer-Encoding": "chunked"},
        },
    )
    running.wakeup.notify()

    await wait_for(lambda: len(sink.received) == 1, what="the target to be called")
    (request,) = sink.received
    assert request.headers["Host"] == f"127.0.0.1:{sink.port}"
    assert request.headers["X-Team"] == "billing"
    assert request.headers["Content-Length"] == str(len(request.body))
    assert "Transfer-Encoding" not in request.headers
    assert "X-Split" not in request.headers and "Injected" not in request.headers
    assert request.json() == {"amount": 10}

    async def succeeded() -> bool:
        rows = await deliveries_of(engine, event_id)
        return len(rows) == 1 and rows[0]["status"] == "succeeded"

    await wait_for(succeeded, what="the delivery to succeed on its first attempt")
    (delivery,) = await deliveries_of(engine, event_id)
    assert len(await attempts_of(engine, delivery["id"])) == 1


async def test_a_stored_dot_segment_url_value_is_never_sent(running: Runtime, sink: Sink) -> None:
    engine = running.store.engine
    event_id = await add_event(
        engine,
        key="walks-up",
        pattern=(utcnow() + timedelta(milliseconds=200)).isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}/tenants/<id>/run", "timeout": 5},
        params={"url": {"id": ".."}},
    )
    running.wakeup.notify()

    async def dead() -> bool:
        rows = await deliveries_of(engine, event_id)
        return len(rows) == 1 and rows[0]["status"] == "dead"

    await wait_for(dead, what="the delivery to be dead at once")
    (delivery,) = await deliveries_of(engine, event_id)
    (attempt,) = await attempts_of(engine, delivery["id"])
    assert "params.url.id" in attempt["error"]
    assert sink.received == []
