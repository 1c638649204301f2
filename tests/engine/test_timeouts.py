"""Every outbound call is bounded: the configured default when the action sets no
timeout, the action's own one up to a maximum.

The targets are real HTTP servers on 127.0.0.1 that accept a request and never answer
(a handler that sleeps for an hour). Before the default was applied, an action without
``timeout`` was sent with none (aiohttp reads ``timeout=None`` as unlimited) and the
delivery stayed running, holding its lease and slots, for as long as the target did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from onewatch.delivery.request import MAX_ACTION_TIMEOUT_SECONDS, build_request
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import (
    Sink,
    add_action,
    add_event,
    attempts_of,
    deliveries_of,
    make_runtime,
    settings_for,
    utcnow,
    wait_for,
)

NEVER = 3600.0
FAST_RETRIES = {"maxAttempts": 2, "minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.1}


@pytest.fixture
async def node(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A running node on each backend whose default total timeout is half a second."""
    settings = settings_for(tmp_path, database_url=store_url, http_total_timeout_seconds=0.5)
    runtime = await make_runtime(settings)
    try:
        await runtime.start(background_roles())
        yield runtime
    finally:
        await runtime.stop()


async def _fire(runtime: Runtime, target: dict[str, Any]) -> int:
    await add_action(runtime.store.engine, key="never", target=target, retry_policy=FAST_RETRIES)
    event_id = await add_event(
        runtime.store.engine,
        key="never",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        action_key="never",
    )
    runtime.wakeup.notify()
    return event_id


async def _settled_attempts(runtime: Runtime, event_id: int) -> list[dict[str, Any]]:
    async def dead() -> bool:
        found = await deliveries_of(runtime.store.engine, event_id)
        return bool(found) and found[0]["status"] == "dead"

    await wait_for(dead, seconds=15, what="the hanging delivery to time out twice")
    (delivery,) = await deliveries_of(runtime.store.engine, event_id)
    return await attempts_of(runtime.store.engine, str(delivery["id"]))


async def test_action_without_timeout_gets_the_default(node: Runtime, sink: Sink) -> None:
    sink.delays["/never"] = NEVER
    event_id = await _fire(node, {"endpoint": f"{sink.base}/never"})
    attempts = await _settled_attempts(node, event_id)
    assert [a["error"].split(";")[0] for a in attempts] == ["timed out", "timed out"]
    assert [a["outcome"] for a in attempts] == ["failed", "failed"]
    assert len(sink.on("/never")) == 2  # retried after the first timed out, not held


async def test_action_timeout_shorter_than_default_is_kept(tmp_path: Path, sink: Sink) -> None:
    sink.delays["/never"] = NEVER
    runtime = await make_runtime(settings_for(tmp_path, http_total_timeout_seconds=NEVER))
    try:
        await runtime.start(background_roles())
        event_id = await _fire(runtime, {"endpoint": f"{sink.base}/never", "timeout": 0.3})
        attempts = await _settled_attempts(runtime, event_id)
    finally:
        await runtime.stop()
    assert [a["error"].split(";")[0] for a in attempts] == ["timed out", "timed out"]


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        (None, None),
        (10, 10.0),
        (0, None),
        (True, None),
        ("12", None),
        (86_400, MAX_ACTION_TIMEOUT_SECONDS),
    ],
)
def test_stored_timeout_is_bounded(stored: object, sent: float | None) -> None:
    """A stored target (imported, or written before the API bound it) cannot ask for a
    longer hold than the maximum; an unset or meaningless one gets the default (None)."""
    target: dict[str, Any] = {"endpoint": "http://127.0.0.1:9/hook"}
    if stored is not None:
        target["timeout"] = stored
    request = build_request("webhook", target, {}, {})
    assert request.timeout_seconds == sent
