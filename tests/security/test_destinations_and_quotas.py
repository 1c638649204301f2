"""The outbound policy and the per-service quotas, enforced by a real node over HTTP.

A denied endpoint is refused at the API (422 naming the field and the rule, nothing
stored); a name that resolves to a denied address fails its delivery at once (dead,
not retried) with the rule in the record; events past the quota are refused (403);
requests past the rate quota get 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from onewatch.settings import Settings
from tests.engine.support import Sink, wait_for
from tests.support.live import TEST_SECRET, LiveApp, live_app
from tests.support.store import snapshot

SERVICE = "alpha"
NEVER = "2099-01-01T00:00:00Z"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'onewatch.db'}",
        "jwt_secret": SecretStr(TEST_SECRET),
        "roles": ["api"],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LiveApp]:
    """Default policy, plus an operator deny list of host names."""
    settings = _settings(tmp_path, outbound_denied_hosts=["*.corp.test"])
    async with live_app(tmp_path, settings=settings) as live:
        yield live


def _action(endpoint: str, kind: str = "webhook") -> dict[str, Any]:
    target: dict[str, Any] = {"endpoint": endpoint}
    if kind == "graphql":
        target["query"] = "mutation { x }"
    return {"key": "target", "type": kind, kind: target}


def _event(key: str = "e1", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "webhook": {"endpoint": "http://127.0.0.1:9/hooks"},
        "schedulingPattern": {"pattern": NEVER},
    }
    if "action" in changes:
        del document["webhook"]
    document.update(changes)
    return document


def _refusal(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_failed"
    (error,) = body["errors"]
    return error["field"], error["reason"]


# (endpoint, the rule the refusal must name)
DENIED_ENDPOINTS = [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://169.254.169.254/computeMetadata/<id>", "link-local"),
    ("http://[fe80::1]:8080/hook", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://2852039166/", "link-local"),
    ("http://0251.0376.0251.0376/", "link-local"),
    ("http://metadata.google.internal/computeMetadata/v1/", "link-local"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("https://db.corp.test/<id>/x", "denied host"),
]


@pytest.mark.parametrize(("endpoint", "rule"), DENIED_ENDPOINTS)
async def test_denied_endpoints_are_refused_at_the_api(
    api: LiveApp, endpoint: str, rule: str
) -> None:
    before = await snapshot(api.runtime.store.engine)
    kind = "graphql" if "fe80" in endpoint else "webhook"
    async with api.client(SERVICE) as http:
        action = await http.post("/v1/actions", json=_action(endpoint, kind))
        put = await http.put(f"/v1/actions/{SERVICE}/target", json=_action(endpoint, kind))
        inline = _event(webhook={"endpoint": endpoint}, params={"url": {"id": "1"}})
        event = await http.post("/v1/events", json=inline)
    for response, field in (
        (action, f"{kind}.endpoint"),
        (put, f"{kind}.endpoint"),
        (event, "webhook.endpoint"),
    ):
        named, reason = _refusal(response)
        assert named == field
        assert f"({rule})" in reason
    assert await snapshot(api.runtime.store.engine) == before


async def test_changing_a_stored_target_to_a_denied_one_is_refused(api: LiveApp) -> None:
    async with api.client(SERVICE) as http:
        assert (await http.post("/v1/actions", json=_action("http://127.0.0.1:9/a"))).is_success
        assert (await http.post("/v1/events", json=_event())).is_success
        before = await snapshot(api.runtime.store.engine)
        metadata = {"endpoint": "http://169.254.169.254/"}
        patched_action = await http.patch(
            f"/v1/actions/{SERVICE}/target", json={"webhook": metadata}
        )
        patched_event = await http.patch(f"/v1/events/{SERVICE}/e1", json={"webhook": metadata})
        put_event = await http.put(f"/v1/events/{SERVICE}/e1", json=_event(webhook=metadata))
    assert _refusal(patched_action)[0] == "webhook.endpoint"
    assert _refusal(patched_event)[0] == "webhook.endpoint"
    assert _refusal(put_event)[0] == "webhook.endpoint"
    assert await snapshot(api.runtime.store.engine) == before


async def test_a_placeholder_host_is_checked_once_the_event_fills_it(api: LiveApp) -> None:
    """``http://<host>/x`` cannot be judged alone; the event's ``params.url`` decides."""
    async with api.client(SERVICE) as http:
        action = await http.post("/v1/actions", json=_action("http://<host>:9/hooks/<id>"))
        assert action.status_code == 201, action.text
        good = {"url": {"host": "127.0.0.1", "id": "7"}}
        bad = {"url": {"host": "169.254.169.254", "id": "7"}}
        allowed = await http.post("/v1/events", json=_event("ok", action="target", params=good))
        before = await snapshot(api.runtime.store.engine)
        refused = await http.post("/v1/events", json=_event("bad", action="target", params=bad))
        after = await snapshot(api.runtime.store.engine)
    assert allowed.status_code == 201, allowed.text
    field, reason = _refusal(refused)
    assert field == "params.url"
    assert "(link-local)" in reason and "169.254.169.254" in reason
    assert after == before


async def test_operator_can_deny_loopback_including_localhost_dot(tmp_path: Path) -> None:
    settings = _settings(tmp_path, outbound_allow_loopback=False)
    async with live_app(tmp_path, settings=settings) as live, live.client(SERVICE) as http:
        for endpoint in ("http://localhost./x", "http://127.0.0.1:9/x", "http://[::1]/x"):
            refused = await http.post("/v1/actions", json=_action(endpoint))
            assert "(loopback)" in _refusal(refused)[1], endpoint
        public = await http.post("/v1/actions", json=_action("https://hooks.example.org/x"))
        assert public.status_code == 201, public.text


async def test_a_name_resolving_to_a_denied_address_fails_the_delivery_at_once(
    tmp_path: Path,
) -> None:
    """``localhost`` passes the API (names are not resolved there); at send time it
    resolves to a denied address: the delivery is dead after one attempt, with the rule
    in its record, and the target is never called."""
    sink = await Sink().start()
    settings = _settings(
        tmp_path,
        roles=["api", "scheduler", "dispatcher"],
        outbound_denied_networks=["127.0.0.0/8", "::1/128"],
        dispatcher_poll_seconds=0.2,
    )
    try:
        async with live_app(tmp_path, settings=settings) as live, live.client(SERVICE) as http:
            endpoint = f"http://localhost:{sink.port}/hook"
            retries = {"maxAttempts": 5, "minBackoffSeconds": 1, "maxBackoffSeconds": 1}
            document = _event(webhook={"endpoint": endpoint}, retryPolicy=retries)
            assert (await http.post("/v1/events", json=document)).status_code == 201
            triggered = await http.post(f"/v1/events/{SERVICE}/e1/trigger")
            path = f"/v1/deliveries/{triggered.json()['id']}"

            async def dead() -> bool:
                return (await http.get(path)).json()["status"] == "dead"

            await wait_for(dead, what="the delivery to be dead")
            delivery = (await http.get(path)).json()
    finally:
        await sink.stop()
    assert delivery["attemptCount"] == 1, "a refused destination is not retried"
    (attempt,) = delivery["attempts"]
    assert attempt["statusCode"] is None
    assert "destination denied by the outbound policy (denied network)" in attempt["error"]
    assert "not retried" in attempt["error"]
    assert sink.received == []


async def test_event_quota_counts_live_events_and_answers_403(tmp_path: Path) -> None:
    settings = _settings(tmp_path, quota_max_events=2)
    async with live_app(tmp_path, settings=settings) as live, live.client(SERVICE) as http:
        assert (await http.post("/v1/events", json=_event("one"))).status_code == 201
        assert (await http.put(f"/v1/events/{SERVICE}/two", json=_event("two"))).status_code == 201
        assert (await http.post(f"/v1/events/{SERVICE}/two/pause")).status_code == 200
        before = await snapshot(live.runtime.store.engine)
        refused = [
            await http.post("/v1/events", json=_event("three")),
            await http.put(f"/v1/events/{SERVICE}/three", json=_event("three")),
        ]
        assert await snapshot(live.runtime.store.engine) == before
        async with live.client("beta") as other:
            assert (await other.post("/v1/events", json=_event("one"))).status_code == 201
        assert (await http.delete(f"/v1/events/{SERVICE}/one")).status_code == 204
        assert (await http.post("/v1/events", json=_event("three"))).status_code == 201
    for response in refused:
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["error"] == "forbidden"
        assert body["errors"][0]["field"] == "service"
        assert "quota is 2" in body["errors"][0]["reason"]


async def test_every_v1_router_is_rate_limited_with_retry_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path, quota_requests_per_second=0.01, quota_request_burst=1)
    paths = [
        "/v1/events",
        "/v1/actions",
        "/v1/deliveries",
        f"/v1/services/{SERVICE}/signing-secrets",
    ]
    async with live_app(tmp_path, settings=settings) as live:
        for number, path in enumerate(paths):
            async with live.client(f"svc{number}") as http:
                scoped = path.replace(SERVICE, f"svc{number}")
                assert (await http.get(scoped)).status_code == 200, path
                limited = await http.get(scoped)
            assert limited.status_code == 429, path
            assert int(limited.headers["retry-after"]) >= 1
            body = limited.json()
            assert body["error"] == "rate_limited"
            assert body["errors"] == [{"field": "service", "reason": body["errors"][0]["reason"]}]
            assert f"svc{number}" in body["message"]
