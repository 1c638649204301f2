"""Actions: create, read, list, replace, patch, delete."""

from __future__ import annotations

from tests.api.samples import event, graphql_action, webhook_action
from tests.support.live import LiveApp, ManualClock
from tests.support.store import snapshot


async def test_create_then_read_a_webhook_action(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        created = await http.post("/v1/actions", json=webhook_action())
        fetched = await http.get("/v1/actions/alpha/notify")
    assert created.status_code == 201
    body = created.json()
    assert fetched.json() == body
    assert body["service"] == "alpha"
    assert body["webhook"] == {
        "endpoint": "http://127.0.0.1:9/hooks/<id>",
        "method": "POST",
        "headers": {"X-Team": "billing"},
        "timeout": 5.0,
    }
    assert body["retryPolicy"]["maxAttempts"] == 3
    assert body["createdAt"] == "2030-01-01T00:00:00Z"


async def test_a_second_action_with_the_same_key_is_409(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        before = await snapshot(live.runtime.store.engine)
        again = await http.post("/v1/actions", json=graphql_action("notify"))
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {"field": "key", "reason": "action alpha/notify exists already"}
    ]
    assert await snapshot(live.runtime.store.engine) == before


async def test_put_creates_then_replaces_and_repeating_it_changes_nothing(
    live: LiveApp, clock: ManualClock
) -> None:
    async with live.client("alpha") as http:
        first = await http.put("/v1/actions/alpha/mutate", json=graphql_action())
        clock.advance(seconds=5)
        same = await http.put("/v1/actions/alpha/mutate", json=graphql_action())
        changed = await http.put(
            "/v1/actions/alpha/mutate", json=graphql_action(payload={"limit": 20})
        )
    assert (first.status_code, same.status_code, changed.status_code) == (201, 200, 200)
    assert same.json() == first.json()
    assert changed.json()["payload"] == {"limit": 20}
    assert changed.json()["updatedAt"] == "2030-01-01T00:00:05Z"
    assert changed.json()["createdAt"] == "2030-01-01T00:00:00Z"


async def test_patch_merges_and_null_removes(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        patched = await http.patch(
            "/v1/actions/alpha/notify",
            json={"webhook": {"method": "put", "headers": None}, "retryPolicy": None},
        )
    assert patched.status_code == 200
    webhook = patched.json()["webhook"]
    assert webhook["method"] == "PUT"
    assert webhook["headers"] == {}
    assert webhook["endpoint"] == "http://127.0.0.1:9/hooks/<id>"
    assert patched.json()["retryPolicy"] is None


async def test_switching_type_by_patch(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        patched = await http.patch(
            "/v1/actions/alpha/notify",
            json={"type": "graphql", "webhook": None, "graphql": graphql_action()["graphql"]},
        )
    assert patched.status_code == 200, patched.text
    assert patched.json()["type"] == "graphql"
    assert "webhook" not in patched.json()


async def test_an_action_in_use_cannot_be_deleted_nor_lose_a_placeholder(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await http.post("/v1/actions", json=webhook_action())
        await http.post("/v1/events", json=event())
        before = await snapshot(live.runtime.store.engine)
        deleted = await http.delete("/v1/actions/alpha/notify")
        needs_more = await http.patch(
            "/v1/actions/alpha/notify",
            json={"webhook": {"endpoint": "http://127.0.0.1:9/hooks/<id>/<other>"}},
        )
        assert await snapshot(live.runtime.store.engine) == before
        assert deleted.status_code == 409
        assert needs_more.status_code == 422
        assert needs_more.json()["errors"][0]["field"] == "webhook.endpoint"
        assert "other" in needs_more.json()["errors"][0]["reason"]

        assert (await http.delete("/v1/events/alpha/monthly")).status_code == 204
        assert (await http.delete("/v1/actions/alpha/notify")).status_code == 204
        assert (await http.get("/v1/actions/alpha/notify")).status_code == 404
        assert (await http.delete("/v1/actions/alpha/notify")).status_code == 404


async def test_list_actions_pages_with_a_cursor(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        for number in range(5):
            await http.post("/v1/actions", json=webhook_action(f"a{number}"))
        keys: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            body = (await http.get("/v1/actions", params=params)).json()
            keys += [item["key"] for item in body["items"]]
            pages += 1
            cursor = body["nextCursor"]
            if cursor is None:
                break
    assert keys == [f"a{number}" for number in range(5)]
    assert pages == 3
