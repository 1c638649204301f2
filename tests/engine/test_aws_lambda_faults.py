"""Lambda faults moto cannot play: a hanging function holds only its own service's
share, an invoke is bounded by its timeout, throttles and 5xx are retried, a missing
function is final.

The Lambda endpoint here is a real HTTP server on 127.0.0.1 speaking Lambda's Invoke
call (``POST /2015-03-31/functions/<name>/invocations``), reached by the real aiobotocore
client through ``AWS_ENDPOINT_URL_LAMBDA``: functions named ``slow-*`` answer only when
the test releases them, ``scripted[name]`` lists error answers to give first, the others
echo their payload at once. (moto's Lambda without Docker answers every invoke at once
and with 200, so it cannot stand for these.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import (
    add_event,
    attempts_of,
    deliveries_of,
    make_runtime,
    settings_for,
    utcnow,
    wait_for,
)

GRANTS = {"slow": {"functions": ["slow-*"]}, "billing": {"functions": ["billing-*"]}}
FAST = {"minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.1}


@dataclass
class StandInLambda:
    """Lambda's Invoke over HTTP; ``slow-*`` functions hang until ``release`` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    #: Function name -> (status, error type) answers to give, in order, before echoing.
    scripted: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    runner: web.AppRunner | None = None
    url: str = ""

    async def _invoke(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        payload = await request.read()
        if name.startswith("slow-"):
            self.in_flight[name] += 1
            self.peak[name] = max(self.peak[name], self.in_flight[name])
            try:
                await self.release.wait()
            finally:
                self.in_flight[name] -= 1
        if self.scripted.get(name):
            status, error_type = self.scripted[name].pop(0)
            return web.json_response(
                {"Type": "Service", "message": f"{error_type} from the stand-in"},
                status=status,
                headers={"x-amzn-ErrorType": error_type},
            )
        return web.Response(status=200, body=payload, content_type="application/json")

    async def start(self) -> StandInLambda:
        app = web.Application()
        app.router.add_post("/2015-03-31/functions/{name}/invocations", self._invoke)
        self.runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def stand_in(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[StandInLambda]:
    """The stand-in, as the Lambda endpoint (credentials from ``moto_endpoint``)."""
    server = await StandInLambda().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
    try:
        yield server
    finally:
        await server.stop()


async def _node(tmp_path: Path, **settings: Any) -> Runtime:
    node = await make_runtime(settings_for(tmp_path, aws_targets=GRANTS, **settings))
    await node.start(background_roles())
    return node


async def _fire(
    node: Runtime, service: str, key: str, target: dict[str, Any], **policy: Any
) -> int:
    event_id = await add_event(
        node.store.engine,
        service=service,
        key=key,
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        target_type="lambda",
        target=target,
        params={"body": {"key": key}},
        retry_policy={"minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.1, **policy},
    )
    node.wakeup.notify()
    return event_id


async def _status(node: Runtime, event_id: int) -> str | None:
    found = await deliveries_of(node.store.engine, event_id)
    return str(found[0]["status"]) if found else None


async def test_a_hanging_function_delays_only_its_own_service(
    tmp_path: Path, stand_in: StandInLambda
) -> None:
    # Two calls per service and function, from a pool of four connections: the slow
    # service's six deliveries can hold two of them, never all four.
    node = await _node(
        tmp_path,
        dispatcher_per_host_limit=2,
        dispatcher_concurrency=4,
        quota_max_concurrent_deliveries=0,
    )
    try:
        slow = [
            await _fire(
                node, "slow", f"hang{n}", {"function": "slow-report", "timeout": 60}, maxAttempts=1
            )
            for n in range(6)
        ]
        await wait_for(lambda: stand_in.in_flight["slow-report"] == 2, what="two hanging invokes")
        billing = await _fire(node, "billing", "close", {"function": "billing-close"})
        await wait_for(lambda: _status(node, billing), what="billing's delivery to be recorded")
        await wait_for(lambda: _succeeded(node, billing), what="billing's delivery to succeed")
        assert stand_in.in_flight["slow-report"] == 2, "the slow ones still hang meanwhile"
        assert [await _status(node, ident) for ident in slow].count("succeeded") == 0
        stand_in.release.set()
        for ident in slow:
            await wait_for(lambda ident=ident: _succeeded(node, ident), what="a released invoke")
        assert stand_in.peak["slow-report"] == 2, "never more than the service's share"
    finally:
        await node.stop()


async def _succeeded(node: Runtime, event_id: int) -> bool:
    return await _status(node, event_id) == "succeeded"


async def test_an_invoke_that_never_answers_times_out_and_is_retried(
    tmp_path: Path, stand_in: StandInLambda
) -> None:
    node = await _node(tmp_path)
    try:
        event_id = await _fire(
            node, "slow", "never", {"function": "slow-never", "timeout": 0.3}, maxAttempts=2
        )

        async def dead() -> bool:
            return await _status(node, event_id) == "dead"

        await wait_for(dead, seconds=20, what="the delivery to be given up")
        (delivery,) = await deliveries_of(node.store.engine, event_id)
        attempts = await attempts_of(node.store.engine, str(delivery["id"]))
        assert [a["error"] for a in attempts] == [
            "timed out",
            "timed out; gave up after 2 attempts",
        ]
        assert all(a["status_code"] is None and a["latency_ms"] >= 300 for a in attempts)
    finally:
        await node.stop()


async def _settled(node: Runtime, event_id: int) -> dict[str, Any]:
    async def done() -> bool:
        return await _status(node, event_id) in ("succeeded", "dead")

    await wait_for(done, seconds=20, what="the delivery to settle")
    (delivery,) = await deliveries_of(node.store.engine, event_id)
    return delivery


async def test_a_throttle_and_a_5xx_are_retried(tmp_path: Path, stand_in: StandInLambda) -> None:
    stand_in.scripted["billing-busy"] = [
        (429, "TooManyRequestsException"),
        (500, "ServiceException"),
    ]
    node = await _node(tmp_path)
    try:
        event_id = await _fire(node, "billing", "busy", {"function": "billing-busy"}, **FAST)
        delivery = await _settled(node, event_id)
        attempts = await attempts_of(node.store.engine, str(delivery["id"]))
    finally:
        await node.stop()
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in attempts] == [429, 500, 200]
    assert attempts[0]["error"].startswith("TooManyRequestsException: ")
    assert attempts[1]["error"].startswith("ServiceException: ")


async def test_a_function_that_does_not_exist_is_final(
    tmp_path: Path, stand_in: StandInLambda
) -> None:
    stand_in.scripted["billing-gone"] = [(404, "ResourceNotFoundException")]
    node = await _node(tmp_path)
    try:
        event_id = await _fire(node, "billing", "gone", {"function": "billing-gone"}, **FAST)
        delivery = await _settled(node, event_id)
    finally:
        await node.stop()
    assert (delivery["status"], delivery["attempts"]) == ("dead", 1)
    assert delivery["last_status_code"] == 404
    assert "ResourceNotFoundException" in str(delivery["last_error"])
    assert "HTTP 404 is final" in str(delivery["last_error"])
