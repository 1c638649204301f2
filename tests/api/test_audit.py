"""``GET /v1/audit`` over HTTP: what each front door recorded, who sees it, and paging."""

from __future__ import annotations

import json

from tests.api.samples import event, webhook_action
from tests.support.live import LiveApp, ManualClock


async def _entries(live: LiveApp, service: str, **params: str) -> list[dict[str, object]]:
    async with live.client(service) as http:
        answer = await http.get("/v1/audit", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_each_api_change_is_listed_newest_first_with_its_subject(
    live: LiveApp, clock: ManualClock
) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        created = await http.post("/v1/events", json=event())  # the fast create path
        clock.advance(seconds=10)
        await http.post("/v1/events/alpha/monthly/pause")
    async with live.client("root", admin=True) as admin:
        await admin.post("/v1/events/alpha/monthly/resume")
        await admin.post(
            "/v1/events/batch", json={"items": [{**event("second"), "service": "alpha"}]}
        )
    entries = await _entries(live, "alpha")
    assert [(e["resourceType"], e["key"], e["action"]) for e in entries] == [
        ("event", "second", "create"),
        ("event", "monthly", "resume"),
        ("event", "monthly", "pause"),
        ("event", "monthly", "create"),
        ("action", "notify", "create"),
    ]
    assert entries[1]["actor"] == {"subject": "root", "scope": "admin", "via": "api"}
    assert entries[2]["actor"] == {"subject": "alpha", "scope": "service", "via": "api"}
    assert entries[2]["at"] == "2030-01-01T00:00:10Z"
    assert entries[3]["after"] == created.json()
    assert entries[3]["before"] is None


async def test_a_service_sees_only_its_own_entries(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
    async with live.client("beta") as http:
        await http.post("/v1/actions", json=webhook_action("theirs"))
        foreign = await http.get("/v1/audit", params={"service": "alpha"})
    assert foreign.status_code == 403
    assert foreign.json()["errors"][0]["field"] == "service"
    assert [e["key"] for e in await _entries(live, "beta")] == ["theirs"]
    assert [e["key"] for e in await _entries(live, "alpha")] == ["notify"]
    async with live.client("root", admin=True) as admin:
        everything = (await admin.get("/v1/audit")).json()["items"]
        only_beta = (await admin.get("/v1/audit", params={"service": "beta"})).json()["items"]
    assert {e["service"] for e in everything} == {"alpha", "beta"}
    assert [e["service"] for e in only_beta] == ["beta"]


async def test_filters_and_cursor_pages(live: LiveApp, clock: ManualClock) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        for number in range(5):
            clock.advance(minutes=1)
            await http.post("/v1/events", json=event(f"e{number}"))
        first = (await http.get("/v1/audit", params={"limit": 2})).json()
        second = (
            await http.get("/v1/audit", params={"limit": 2, "cursor": first["nextCursor"]})
        ).json()
        actions = await http.get("/v1/audit", params={"resourceType": "action"})
        one = await http.get("/v1/audit", params={"resourceType": "event", "key": "e3"})
        window = await http.get(
            "/v1/audit",
            params={"since": "2030-01-01T00:02:00Z", "until": "2030-01-01T00:04:00+00:00"},
        )
    assert [e["key"] for e in first["items"]] == ["e4", "e3"]
    assert [e["key"] for e in second["items"]] == ["e2", "e1"]
    assert [e["key"] for e in actions.json()["items"]] == ["notify"]
    assert [e["key"] for e in one.json()["items"]] == ["e3"]
    assert [e["key"] for e in window.json()["items"]] == ["e2", "e1"]


async def test_bad_filters_are_422_naming_the_parameter(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        kind = await http.get("/v1/audit", params={"resourceType": "delivery"})
        naive = await http.get("/v1/audit", params={"since": "2030-01-01T00:00:00"})
        cursor = await http.get("/v1/audit", params={"cursor": "nonsense!"})
    assert kind.status_code == naive.status_code == cursor.status_code == 422
    assert kind.json()["errors"][0]["field"] == "resourceType"
    assert naive.json()["errors"][0]["field"] == "since"
    assert cursor.json()["errors"][0]["field"] == "cursor"


async def test_signing_secret_values_never_appear(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        created = (await http.post("/v1/services/alpha/signing-secrets")).json()
        rotated = (await http.post("/v1/services/alpha/signing-secrets/rotate")).json()
        await http.delete(f"/v1/services/alpha/signing-secrets/{created['id']}")
        listing = (await http.get("/v1/audit")).json()
    entries = listing["items"]
    assert [(e["resourceType"], e["action"]) for e in entries] == [
        ("signing_secret", "revoke"),
        ("signing_secret", "rotate"),
        ("signing_secret", "create"),
    ]
    assert entries[1]["after"]["rotated"] == [str(created["id"])]
    shown = json.dumps(listing)
    assert created["secret"] not in shown and rotated["secret"] not in shown
