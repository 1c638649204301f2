"""One-shot and recurring webhook events fire with the right request."""

from __future__ import annotations

from datetime import timedelta

from onewatch.runtime import Runtime
from tests.engine.support import (
    Sink,
    add_action,
    add_event,
    attempts_of,
    deliveries_of,
    event_row,
    utcnow,
    wait_for,
)


async def test_one_shot_webhook_carries_method_url_headers_and_body(
    running: Runtime, sink: Sink
) -> None:
    engine = running.store.engine
    await add_action(
        engine,
        key="charge",
        target={
            "endpoint": f"{sink.base}/tenants/<tenant>/charge/{{invoice}}",
            "method": "PUT",
            "headers": {"X-Team": "billing", "Onewatch-Attempt": "spoofed"},
            "timeout": 5,
        },
    )
    due = utcnow() + timedelta(milliseconds=300)
    event_id = await add_event(
        engine,
        key="invoice-42",
        pattern=due.isoformat(),
        action_key="charge",
        params={
            "url": {"tenant": "a b/c", "invoice": 42},
            "body": {"amount": 10, "currency": "EUR"},
            "header": {"X-Trace": "t-1"},
        },
    )
    running.wakeup.notify()

    await wait_for(lambda: len(sink.received) == 1, what="the target to be called")
    request = sink.received[0]
    assert request.method == "PUT"
    assert request.path_qs == "/tenants/a%20b%2Fc/charge/42"
    assert request.json() == {"amount": 10, "currency": "EUR"}
    assert request.at >= due, "never sent before the due instant"
    headers = request.headers
    assert headers["X-Team"] == "billing"
    assert headers["X-Trace"] == "t-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["Onewatch-Event"] == "billing/invoice-42"
    assert headers["Onewatch-Attempt"] == "1"
    assert headers["Idempotency-Key"] == headers["webhook-id"]
    assert int(headers["webhook-timestamp"]) >= int(due.timestamp())

    async def recorded() -> bool:
        rows = await deliveries_of(engine, event_id)
        return len(rows) == 1 and rows[0]["status"] == "succeeded"

    await wait_for(recorded, what="the delivery to be recorded as succeeded")
    (delivery,) = await deliveries_of(engine, event_id)
    assert delivery["id"] == headers["webhook-id"]
    assert delivery["scheduled_for"] == due
    assert headers["Onewatch-Scheduled-For"] == due.isoformat().replace("+00:00", "Z")
    (attempt,) = await attempts_of(engine, delivery["id"])
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    event = await event_row(engine, event_id)
    assert event["status"] == "completed"
    assert event["occurrences"] == 1
    assert event["next_occurrence"] is None


async def test_get_sends_no_body_and_inline_target_works(running: Runtime, sink: Sink) -> None:
    due = utcnow() + timedelta(milliseconds=100)
    await add_event(
        running.store.engine,
        key="ping",
        pattern=due.isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}/ping?x=1", "method": "GET"},
        params={"body": {"ignored": True}},
    )
    running.wakeup.notify()
    await wait_for(lambda: len(sink.received) == 1, what="the GET")
    assert sink.received[0].method == "GET"
    assert sink.received[0].path_qs == "/ping?x=1"
    assert sink.received[0].body == b""


async def test_event_written_by_another_process_is_noticed_without_a_wakeup(
    running: Runtime, sink: Sink
) -> None:
    due = utcnow() + timedelta(seconds=1.5)
    await add_event(
        running.store.engine,
        key="from-elsewhere",
        pattern=due.isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}/elsewhere"},
    )
    # No wakeup.notify(): an API in another process cannot reach this one's signal.
    await wait_for(lambda: len(sink.received) == 1, what="the fire")
    assert sink.received[0].at >= due
