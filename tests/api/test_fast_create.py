"""``POST /v1/events`` answers the same through ``api.fast_create`` as through the route.

``Content-Type: application/json`` takes the fast path; with a ``charset`` parameter the
request goes the ordinary FastAPI route. Each case is sent both ways and must get the
same status, headers that matter and body (ids and keys aside).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from onewatch.settings import Settings
from tests.api.samples import event, webhook_action
from tests.support.databases import fresh_database_url
from tests.support.live import LiveApp, live_app, node_settings
from tests.support.tcp_proxy import tcp_proxy

FAST = "application/json"
ROUTE = "application/json; charset=utf-8"


async def _post(
    http: httpx.AsyncClient, body: Any, content_type: str, **headers: str
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    headers = {"Content-Type": content_type, **headers}
    return await http.post("/v1/events", content=raw, headers=headers)


def _comparable(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    body = response.json()
    if response.status_code == 201:
        body = {name: value for name, value in body.items() if name not in ("id", "key")}
    return (
        response.status_code,
        body,
        response.headers.get("www-authenticate"),
        response.headers.get("content-type"),
    )


def _renamed(document: dict[str, Any], key: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["key"] = key
    return changed


async def test_both_paths_answer_alike(live: LiveApp) -> None:
    bad_minute = event("bad-minute")
    bad_minute["schedulingPattern"]["pattern"] = "0 60 * * *"
    cases: list[tuple[str, Any, dict[str, str]]] = [
        ("created", event("new"), {}),
        ("exists already", event("taken"), {}),
        ("foreign service", event("foreign", service="beta"), {}),
        ("no such action", event("orphan", action="missing"), {}),
        ("refused field", bad_minute, {}),
        ("not an object", [1, 2], {}),
        ("malformed", b'{"key": ', {}),
        ("bad token", event("unsigned"), {"Authorization": "Bearer not-a-jwt"}),
        ("no token", event("anonymous"), {"Authorization": ""}),
    ]
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        assert (await http.post("/v1/events", json=event("taken"))).status_code == 201
        for what, body, headers in cases:
            answers = []
            for index, content_type in enumerate((FAST, ROUTE)):
                sent = _renamed(body, f"{body['key']}-{index}") if what == "created" else body
                answers.append(_comparable(await _post(http, sent, content_type, **headers)))
            assert answers[0] == answers[1], what


async def test_a_fast_create_is_stored_before_its_answer(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        created = await _post(http, event("stored"), FAST)
        fetched = await http.get("/v1/events/alpha/stored")
    assert created.status_code == 201
    assert fetched.json() == created.json()


BAD_MINUTE = {"pattern": "0 60 * * *", "timezone": "UTC"}

#: Headers every answer carries that say nothing about the request's handling.
_INCIDENTAL = frozenset({"date", "server", "content-length"})


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """Status, body (a created event's id and key aside) and the headers that matter."""
    status, body, _, _ = _comparable(response)
    headers = {name: value for name, value in response.headers.items() if name not in _INCIDENTAL}
    return status, body, headers


async def _both_ways(
    http: httpx.AsyncClient, body: Any, **headers: str
) -> list[tuple[int, Any, dict[str, str]]]:
    return [_answer(await _post(http, body, way, **headers)) for way in (FAST, ROUTE)]


def _quota_settings(tmp_path: Path) -> Settings:
    return node_settings(tmp_path, ["api"]).model_copy(
        update={"quota_requests_per_second": 0.001, "quota_request_burst": 1}
    )


@pytest.mark.parametrize(
    ("check", "status", "body", "headers"),
    [
        ("auth", 401, event("anonymous"), {"Authorization": ""}),
        ("auth", 401, event("unsigned"), {"Authorization": "Bearer not-a-jwt"}),
        ("other service", 403, event("foreign", service="beta"), {}),
        ("body size", 413, event("huge", title="t" * (256 * 1024)), {}),
        ("malformed JSON", 400, b'{"key": ', {}),
        ("validation: the model", 422, event("typo", schedulingPatern={}), {}),
        ("validation: the schedule", 422, event("bad-minute", schedulingPattern=BAD_MINUTE), {}),
    ],
)
async def test_every_check_answers_alike_on_both_ways(
    live: LiveApp, check: str, status: int, body: Any, headers: dict[str, str]
) -> None:
    async with live.client("alpha") as http:
        fast, ordinary = await _both_ways(http, body, **headers)
    assert fast[0] == status, (check, fast)
    assert set(fast[1]) == {"error", "message", "errors"}
    assert fast == ordinary, check


async def test_the_rate_limit_answers_alike_on_both_ways(tmp_path: Path) -> None:
    async with (
        live_app(tmp_path, settings=_quota_settings(tmp_path)) as live,
        live.client("alpha") as http,
    ):
        first = await _post(http, event("first"), FAST)  # the burst of one, spent
        answers = await _both_ways(http, event("second"))
    assert first.status_code != 429
    assert answers[0][0] == 429
    assert int(answers[0][2]["retry-after"]) >= 1
    assert answers[0] == answers[1]


@pytest.mark.postgres
async def test_the_store_down_answers_alike_on_both_ways(tmp_path: Path) -> None:
    async with (
        fresh_database_url("postgres", tmp_path) as url,
        tcp_proxy(url) as proxy,
        live_app(tmp_path, database_url=proxy.url_for(url)) as live,
        live.client("alpha") as http,
    ):
        await http.post("/v1/actions", json=webhook_action())
        await proxy.cut()
        answers = await _both_ways(http, event("while-down"))
        await proxy.restore()
    assert answers[0][0] == 503
    assert answers[0][1]["error"] == "store_unavailable"
    assert answers[0] == answers[1]
