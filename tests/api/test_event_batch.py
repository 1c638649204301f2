"""``POST /v1/events/batch``: upserts by (service, key), a result per item, in order.

An item's refusal is its own result and changes nothing stored; every stored item's
result is what the store holds afterwards (as GET answers it).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from onewatch.settings import Settings
from tests.api.samples import event, webhook_action
from tests.support.live import TEST_SECRET, LiveApp, live_app
from tests.support.store import snapshot

BATCH = "/v1/events/batch"
NEVER = "2099-01-01T00:00:00Z"


def _inline(key: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "webhook": {"endpoint": "http://127.0.0.1:9/hooks"},
        "schedulingPattern": {"pattern": NEVER},
    }
    document.update(changes)
    return document


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'onewatch.db'}",
        "jwt_secret": SecretStr(TEST_SECRET),
        "roles": ["api"],
    }
    return Settings(**{**values, **overrides})


async def _stored(http: httpx.AsyncClient, service: str, key: str) -> Any:
    response = await http.get(f"/v1/events/{service}/{key}")
    return response.json() if response.status_code == 200 else None


async def test_each_item_gets_its_own_result_in_order(live: LiveApp) -> None:
    bad_minute = event("bad-minute")
    bad_minute["schedulingPattern"]["pattern"] = "0 60 * * *"
    async with live.client("alpha") as http:
        assert (await http.post("/v1/actions", json=webhook_action())).status_code == 201
        assert (await http.post("/v1/events", json=event("kept"))).status_code == 201
        assert (await http.post("/v1/events", json=event("moved"))).status_code == 201
        moved = event("moved", title="Moved")
        moved["schedulingPattern"]["pattern"] = "0 2 15 * *"
        items: list[Any] = [
            event("new"),
            bad_minute,
            event("kept"),  # the same document again: unchanged
            moved,
            event("foreign", service="beta"),
            event("orphan", action="missing"),
            event("new"),  # the same key twice: the first one is written
            [1, 2],
            _inline("inline", status="paused"),
        ]
        kept_before = await _stored(http, "alpha", "kept")
        response = await http.post(BATCH, json={"items": items})
        assert response.status_code == 200, response.text
        results = response.json()["items"]
        statuses = [result["status"] for result in results]
        assert statuses == [201, 422, 200, 200, 403, 422, 422, 422, 201]
        for index, key in ((0, "new"), (2, "kept"), (3, "moved"), (8, "inline")):
            assert results[index]["event"] == await _stored(http, "alpha", key), key
            assert "error" not in results[index]
        assert results[2]["event"] == kept_before  # not even updatedAt moved
        assert results[3]["event"]["title"] == "Moved"
        assert results[8]["event"]["status"] == "paused"
        errors = [results[index]["error"] for index in (1, 4, 5, 6, 7)]
        assert [error["error"] for error in errors] == [
            "validation_failed",
            "forbidden",
            "validation_failed",
            "validation_failed",
            "validation_failed",
        ]
        assert [error["errors"][0]["field"] for error in errors] == [
            "schedulingPattern.pattern",
            "service",
            "action",
            "key",
            "body",
        ]
        assert "item 0 " in errors[3]["message"]
        for key in ("bad-minute", "orphan"):
            assert await _stored(http, "alpha", key) is None
    async with live.client("beta") as other:
        assert await _stored(other, "beta", "foreign") is None


async def test_an_admin_writes_any_service_and_the_scheduler_sees_the_events(
    live: LiveApp,
) -> None:
    items = [_inline("a1", service="one"), _inline("b1", service="two")]
    async with live.client("ops", admin=True) as http:
        response = await http.post(BATCH, json={"items": items})
        assert [item["status"] for item in response.json()["items"]] == [201, 201]
        assert (await _stored(http, "one", "a1"))["service"] == "one"
        assert (await _stored(http, "two", "b1"))["service"] == "two"
        refused = await http.post(BATCH, json={"items": [_inline("c1")]})  # the token's own
        assert refused.json()["items"][0]["status"] == 201


async def test_a_full_batch_of_1000_passes_the_default_burst_and_leaves_the_bucket_in_debt(
    tmp_path: Path,
) -> None:
    # The default burst; a slow refill, so the debt the batch leaves is still there after.
    settings = _settings(tmp_path, quota_requests_per_second=0.001)
    assert settings.quota_request_burst == Settings().quota_request_burst
    async with live_app(tmp_path, settings=settings) as live, live.client("bulk") as http:
        items = [_inline(f"e{number:04d}", title="t" * 200) for number in range(1000)]
        assert len(json.dumps({"items": items})) > 256 * 1024  # past a single create's limit
        response = await http.post(BATCH, json={"items": items})
        assert response.status_code == 200, response.text[:500]
        assert {item["status"] for item in response.json()["items"]} == {201}
        limited = await http.post(BATCH, json={"items": [_inline("late")]})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "rate_limited"
    reopened = _settings(tmp_path)
    async with live_app(tmp_path, settings=reopened) as live, live.client("bulk") as http:
        page = (await http.get("/v1/events", params={"limit": 500})).json()
        assert len(page["items"]) == 500 and page["nextCursor"]
        assert await _stored(http, "bulk", "e0999") is not None
        assert await _stored(http, "bulk", "late") is None


async def test_the_event_quota_holds_per_item(tmp_path: Path) -> None:
    settings = _settings(tmp_path, quota_max_events=3)
    async with live_app(tmp_path, settings=settings) as live, live.client("alpha") as http:
        assert (await http.post("/v1/events", json=_inline("first"))).status_code == 201
        items = [_inline(f"e{number}") for number in range(4)]
        response = await http.post(BATCH, json={"items": items})
        results = response.json()["items"]
        assert [result["status"] for result in results] == [201, 201, 403, 403]
        assert "quota is 3" in results[2]["error"]["errors"][0]["reason"]
        assert [await _stored(http, "alpha", f"e{n}") is not None for n in range(4)] == [
            True,
            True,
            False,
            False,
        ]


async def test_a_batch_is_refused_whole_only_for_what_concerns_the_request(
    live: LiveApp,
) -> None:
    async with live.client("alpha") as http:
        before = await snapshot(live.runtime.store.engine)
        too_many = await http.post(BATCH, json={"items": [_inline(f"k{n}") for n in range(1001)]})
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["field"] == "items"
        not_a_batch = await http.post(BATCH, json=[_inline("k")])
        assert not_a_batch.status_code == 422
        malformed = await http.post(
            BATCH, content=b'{"items": [', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        huge = json.dumps({"items": [_inline("k", title="x" * 1000)] * 9000}).encode()
        too_large = await http.post(
            BATCH, content=huge, headers={"Content-Type": "application/json"}
        )
        assert too_large.status_code == 413
        assert "8192 KiB" in too_large.json()["message"]
        anonymous = await http.post(BATCH, json={"items": []}, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert await snapshot(live.runtime.store.engine) == before
        empty = await http.post(BATCH, json={"items": []})
        assert empty.status_code == 200 and empty.json() == {"items": []}


async def test_the_single_create_keeps_its_own_size_limit(live: LiveApp) -> None:
    """The batch route's larger limit is its own: POST /v1/events still stops at 256 KiB."""
    async with live.client("alpha") as http:
        body = _inline("big", params={"body": {"text": "x" * (300 * 1024)}})
        assert (await http.post("/v1/events", json=body)).status_code == 413
        batched = await http.post(BATCH, json={"items": [body]})
        assert batched.json()["items"][0]["status"] == 201


@pytest.mark.parametrize("route", ["/openapi.json"])
async def test_openapi_describes_the_batch(live: LiveApp, route: str) -> None:
    async with live.client() as http:
        schema = (await http.get(route)).json()
    operation = schema["paths"][BATCH]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/EventBatch"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/EventBatchResult"}
    items = schema["components"]["schemas"]["EventBatch"]["properties"]["items"]
    assert items["items"] == {"$ref": "#/components/schemas/EventDocument"}
    assert items["maxItems"] == 1000
    assert "EventDocument" in schema["components"]["schemas"]


async def test_concurrent_batches_of_the_same_keys_create_each_once(live: LiveApp) -> None:
    """On PostgreSQL both may find a key absent: the insert that loses is read and replaced."""
    keys = [f"shared{number:03d}" for number in range(300)]
    async with live.client("alpha") as one, live.client("alpha") as two:
        answers = await asyncio.gather(
            one.post(BATCH, json={"items": [_inline(key, title="one") for key in keys]}),
            two.post(BATCH, json={"items": [_inline(key, title="two") for key in keys]}),
        )
        results = [response.json()["items"] for response in answers]
        for index in range(len(keys)):
            statuses = sorted(batch[index]["status"] for batch in results)
            assert statuses == [200, 201], (keys[index], statuses)
        page = (await one.get("/v1/events", params={"limit": 500})).json()
    assert sorted(item["key"] for item in page["items"]) == keys


async def test_an_item_the_database_refuses_fails_alone(live: LiveApp) -> None:
    """A value the models let through but the store cannot hold (an integer past 64 bits)
    fails its chunk's transaction: the chunk is written again item by item."""
    too_big = _inline("too-big")
    too_big["schedulingPattern"]["separation"] = 10**20
    items = [_inline("before"), too_big, _inline("after")]
    async with live.client("alpha") as http:
        results = (await http.post(BATCH, json={"items": items})).json()["items"]
        assert [results[0]["status"], results[2]["status"]] == [201, 201]
        assert results[1]["status"] >= 400 and results[1]["error"]["error"]
        assert results[0]["event"] == await _stored(http, "alpha", "before")
        assert results[2]["event"] == await _stored(http, "alpha", "after")
        assert await _stored(http, "alpha", "too-big") is None
