"""Every /v1 call needs a valid token, and one service never sees another's data."""

from __future__ import annotations

from datetime import timedelta

import jwt

from tests.api.samples import event, webhook_action
from tests.support.live import LiveApp
from tests.support.store import snapshot


async def test_health_endpoints_answer_without_a_token(live: LiveApp) -> None:
    async with live.client() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_missing_malformed_and_foreign_signed_tokens_answer_401(live: LiveApp) -> None:
    forged = jwt.encode({"sub": "a", "exp": 9999999999}, "another-secret-32-bytes-long-xxxxx")
    cases = [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {forged}"},
    ]
    async with live.client() as http:
        for headers in cases:
            response = await http.get("/v1/events", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_answers_401_saying_so(live: LiveApp) -> None:
    expired = live.token("a", ttl=timedelta(seconds=-120))
    async with live.client() as http:
        response = await http.get("/v1/events", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


async def test_services_are_isolated_from_each_other(live: LiveApp) -> None:
    async with live.client("alpha") as alpha, live.client("beta") as beta:
        assert (await alpha.post("/v1/actions", json=webhook_action())).status_code == 201
        assert (await alpha.post("/v1/events", json=event())).status_code == 201
        before = await snapshot(live.runtime.store.engine)

        # Foreign items look absent, whatever the verb.
        for method, path in [
            ("GET", "/v1/events/alpha/monthly"),
            ("PATCH", "/v1/events/alpha/monthly"),
            ("DELETE", "/v1/events/alpha/monthly"),
            ("POST", "/v1/events/alpha/monthly/pause"),
            ("POST", "/v1/events/alpha/monthly/resume"),
            ("POST", "/v1/events/alpha/monthly/trigger"),
            ("GET", "/v1/actions/alpha/notify"),
            ("PATCH", "/v1/actions/alpha/notify"),
            ("DELETE", "/v1/actions/alpha/notify"),
        ]:
            body = {"title": "mine now"} if method == "PATCH" else None
            response = await beta.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)

        # Creating in a foreign service is refused outright.
        foreign = [
            ("POST", "/v1/actions", {**webhook_action("x"), "service": "alpha"}),
            ("POST", "/v1/events", {**event("x"), "service": "alpha"}),
            ("PUT", "/v1/actions/alpha/notify", webhook_action()),
            ("PUT", "/v1/events/alpha/monthly", event()),
        ]
        for method, path, body in foreign:
            response = await beta.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["errors"][0]["field"] == "service"

        # Lists show only the caller's own; asking for another's is refused.
        assert (await beta.get("/v1/events")).json() == {"items": [], "nextCursor": None}
        assert (await beta.get("/v1/actions")).json()["items"] == []
        assert (await beta.get("/v1/events", params={"service": "alpha"})).status_code == 403
        assert [e["key"] for e in (await alpha.get("/v1/events")).json()["items"]] == ["monthly"]

        assert await snapshot(live.runtime.store.engine) == before


async def test_an_admin_token_acts_for_any_service(live: LiveApp) -> None:
    async with live.client("alpha") as alpha, live.client("ops", admin=True) as admin:
        await alpha.post("/v1/actions", json=webhook_action())
        created = await admin.post("/v1/events", json={**event(), "service": "alpha"})
        assert created.status_code == 201
        assert created.json()["service"] == "alpha"
        assert (await admin.get("/v1/events/alpha/monthly")).status_code == 200
        listed = (await admin.get("/v1/events")).json()["items"]
        assert [(e["service"], e["key"]) for e in listed] == [("alpha", "monthly")]
        assert (await alpha.get("/v1/events/alpha/monthly")).json()["id"] == created.json()["id"]
