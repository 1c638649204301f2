"""The deliveries API and /metrics, against a node whose roles really fire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from onewatch.api.app import create_app
from onewatch.engine.roles import background_roles
from onewatch.errors import Conflict, Forbidden, NotFound, OnewatchError
from onewatch.runtime import Runtime
from onewatch.security.tokens import mint_token
from tests.engine.support import Sink, add_event, make_runtime, settings_for, utcnow, wait_for

SECRET = "firing-tests-secret-with-enough-length-0123456789"


def _with_error_json(app: FastAPI) -> FastAPI:
    """Until the API's shared handlers merge: errors as ``{"field", "reason"}``."""
    codes = {NotFound: 404, Conflict: 409, Forbidden: 403}

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OnewatchError)
        status = next((code for kind, code in codes.items() if isinstance(exc, kind)), 422)
        return JSONResponse({"field": exc.field, "reason": exc.reason}, status_code=status)

    app.add_exception_handler(OnewatchError, handle)
    return app


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await make_runtime(settings_for(tmp_path, jwt_secret=SECRET))
    await runtime.start(background_roles())
    try:
        yield runtime
    finally:
        await runtime.stop()


def _client(runtime: Runtime, service: str, *, admin: bool = False) -> httpx.AsyncClient:
    token = mint_token(SECRET, service, admin=admin)
    app = _with_error_json(create_app(runtime))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://onewatch.test",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_list_get_redrive_and_metrics(node: Runtime, sink: Sink) -> None:
    sink.script["/down"] = [(500, {}, "down")]
    await add_event(
        node.store.engine,
        key="nightly",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        target_type="webhook",
        target={"endpoint": f"{sink.base}/down"},
        retry_policy={"maxAttempts": 1},
    )
    node.wakeup.notify()
    async with _client(node, "billing") as api, _client(node, "other") as stranger:

        async def dead_listed() -> bool:
            page = (await api.get("/v1/deliveries", params={"status": "dead"})).json()
            return len(page["items"]) == 1

        await wait_for(dead_listed, what="a dead delivery in the listing")
        (item,) = (await api.get("/v1/events/billing/nightly/deliveries")).json()["items"]
        assert item["service"] == "billing"
        assert item["eventKey"] == "nightly"
        assert item["status"] == "dead"
        assert item["attempts"][0]["statusCode"] == 500
        assert item["attempts"][0]["responseExcerpt"] == "down"

        one = await api.get(f"/v1/deliveries/{item['id']}")
        assert one.status_code == 200
        assert one.json()["scheduledFor"] == item["scheduledFor"]
        assert (await stranger.get(f"/v1/deliveries/{item['id']}")).status_code == 404
        assert (await stranger.get("/v1/deliveries")).json()["items"] == []
        forbidden = await stranger.get("/v1/deliveries", params={"service": "billing"})
        assert forbidden.status_code == 403
        bad = await api.get("/v1/deliveries", params={"status": "lost"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "status"

        metrics = (await api.get("/metrics")).text
        assert 'onewatch_deliveries_total{outcome="dead"} 1.0' in metrics
        assert "onewatch_occurrences_fired_total 1.0" in metrics
        assert 'onewatch_attempts_total{status_class="5xx"} 1.0' in metrics
        assert "onewatch_lateness_seconds_count 1.0" in metrics
        assert 'onewatch_deliveries_queued{status="pending"} 0.0' in metrics

        redriven = await api.post(f"/v1/deliveries/{item['id']}/redrive")
        assert redriven.status_code == 200
        assert redriven.json()["status"] == "retrying"

        async def succeeded() -> bool:
            return (await api.get(f"/v1/deliveries/{item['id']}")).json()["status"] == "succeeded"

        await wait_for(succeeded, what="the redriven delivery to succeed")
        again = await api.post(f"/v1/deliveries/{item['id']}/redrive")
        assert again.status_code == 409
        missing = await api.get("/v1/events/billing/nope/deliveries")
        assert missing.status_code == 404


async def test_pagination_with_next_cursor(node: Runtime, sink: Sink) -> None:
    due = utcnow() + timedelta(milliseconds=50)
    for index in range(5):
        await add_event(
            node.store.engine,
            key=f"batch-{index}",
            pattern=due.isoformat(),
            target_type="webhook",
            target={"endpoint": f"{sink.base}/ok"},
        )
    node.wakeup.notify()
    await wait_for(lambda: len(sink.received) == 5, what="five fires")
    async with _client(node, "ops", admin=True) as api:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api.get("/v1/deliveries", params=params)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5
        assert seen == sorted(seen, reverse=True)
