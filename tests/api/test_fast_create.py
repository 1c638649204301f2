"""``POST /v1/events`` answers the same through ``api.fast_create`` as through the route.

``Content-Type: application/json`` takes the fast path; with a ``charset`` parameter the
request goes the ordinary FastAPI route. Each case is sent both ways and must get the
same status, headers that matter and body (ids and keys aside).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.api.samples import event, webhook_action
from tests.support.live import LiveApp

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
