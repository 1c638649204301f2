"""Failures are retried with backoff, Retry-After is honoured, and the policy ends in dead."""

from __future__ import annotations

import itertools
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

FAST = {"minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.2}


async def _fire(runtime: Runtime, sink: Sink, path: str, policy: dict[str, object]) -> int:
    await add_action(
        runtime.store.engine,
        key=f"act{path.replace('/', '-')}",
        target={"endpoint": f"{sink.base}{path}"},
        retry_policy={"maxAttempts": 10, **FAST},
    )
    event_id = await add_event(
        runtime.store.engine,
        key=f"ev{path.replace('/', '-')}",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        action_key=f"act{path.replace('/', '-')}",
        retry_policy=policy,
    )
    runtime.wakeup.notify()
    return event_id


async def _settled(runtime: Runtime, event_id: int, status: str) -> dict[str, object]:
    async def done() -> bool:
        rows = await deliveries_of(runtime.store.engine, event_id)
        return bool(rows) and rows[0]["status"] == status

    await wait_for(done, what=f"the delivery to become {status}")
    return (await deliveries_of(runtime.store.engine, event_id))[0]


async def test_target_failing_twice_then_succeeding(running: Runtime, sink: Sink) -> None:
    sink.script["/flaky"] = [(503, {}, "busy"), (500, {}, "oops")]
    event_id = await _fire(running, sink, "/flaky", {"maxAttempts": 5})
    delivery = await _settled(running, event_id, "succeeded")
    assert delivery["attempts"] == 3
    received = sink.on("/flaky")
    assert [r.headers["Onewatch-Attempt"] for r in received] == ["1", "2", "3"]
    assert len({r.headers["webhook-id"] for r in received}) == 1
    attempts = await attempts_of(running.store.engine, str(delivery["id"]))
    assert [a["status_code"] for a in attempts] == [503, 500, 200]
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "succeeded"]
    assert attempts[0]["response_excerpt"] == "busy"
    for earlier, later in itertools.pairwise(received):
        assert later.at - earlier.at >= timedelta(seconds=0.05), "backoff respected"


async def test_retry_after_is_a_floor(running: Runtime, sink: Sink) -> None:
    sink.script["/limited"] = [(429, {"Retry-After": "1"}, "slow down")]
    event_id = await _fire(running, sink, "/limited", {})
    await _settled(running, event_id, "succeeded")
    first, second = sink.on("/limited")
    assert second.at - first.at >= timedelta(seconds=1)


async def test_final_4xx_is_dead_at_once(running: Runtime, sink: Sink) -> None:
    sink.script["/gone"] = [(404, {}, "no such tenant")]
    event_id = await _fire(running, sink, "/gone", {})
    delivery = await _settled(running, event_id, "dead")
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 404
    assert "final" in str(delivery["last_error"])
    assert delivery["finished_at"] is not None


async def test_dead_after_max_attempts_then_redriven(running: Runtime, sink: Sink) -> None:
    sink.script["/down"] = [(500, {}, "down")] * 3
    event_id = await _fire(running, sink, "/down", {"maxAttempts": 2})
    delivery = await _settled(running, event_id, "dead")
    assert delivery["attempts"] == 2
    assert "gave up after 2 attempts" in str(delivery["last_error"])
    assert len(sink.on("/down")) == 2

    assert await running.store.redrive(str(delivery["id"]), now=utcnow())
    assert not await running.store.redrive(str(delivery["id"]), now=utcnow())
    running.dispatch_wakeup.notify()
    # A fresh budget of two: the third 500, then the target's default 200.
    delivery = await _settled(running, event_id, "succeeded")
    assert delivery["attempts"] == 4
    received = sink.on("/down")
    assert [r.headers["Onewatch-Attempt"] for r in received] == ["1", "2", "3", "4"]
    assert len({r.headers["webhook-id"] for r in received}) == 1


async def test_unreachable_target_is_retried_and_dies(running: Runtime, sink: Sink) -> None:
    event_id = await add_event(
        running.store.engine,
        key="nowhere",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        target_type="webhook",
        target={"endpoint": "http://127.0.0.1:9/refused"},
        retry_policy={"maxAttempts": 2, **FAST},
    )
    running.wakeup.notify()
    delivery = await _settled(running, event_id, "dead")
    attempts = await attempts_of(running.store.engine, str(delivery["id"]))
    assert len(attempts) == 2
    assert all(a["status_code"] is None and a["error"] for a in attempts)
