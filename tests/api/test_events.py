"""Events: create, read, list, replace, patch, delete, pause, resume, trigger."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from onewatch.store.schema import deliveries
from tests.api.samples import event, inline_event, webhook_action
from tests.support.live import LiveApp, ManualClock
from tests.support.store import snapshot


async def _with_action(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/actions", json=webhook_action())).status_code == 201


async def test_create_computes_the_next_occurrence_in_utc(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        created = await http.post("/v1/events", json=event())
        fetched = await http.get("/v1/events/alpha/monthly")
    assert created.status_code == 201
    body = created.json()
    assert fetched.json() == body
    # 01:00 on the 15th in São Paulo (UTC-3) after 2030-01-01T00:00Z.
    assert body["nextOccurrence"] == "2030-01-15T04:00:00Z"
    assert body["status"] == "active"
    assert body["occurrences"] == 0
    assert body["action"] == "notify"
    assert body["misfirePolicy"] == "fire_once"
    assert body["schedulingPattern"] == {
        "pattern": "0 1 15 * *",
        "timezone": "America/Sao_Paulo",
        "separation": 1,
        "maxOccurrences": 12,
        "startAt": None,
        "endAt": None,
    }


async def test_create_wakes_the_scheduler(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        assert not await live.runtime.wakeup.wait(0)
        await http.post("/v1/events", json=event())
    assert await live.runtime.wakeup.wait(5)


async def test_an_inline_target_and_an_omitted_service(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        created = await http.post("/v1/events", json=inline_event())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["service"] == "alpha"
    assert body["type"] == "webhook"
    assert body["webhook"]["endpoint"] == "https://hooks.example.org/x/{id}"
    assert "action" not in body


async def test_a_duplicate_key_is_409_and_changes_nothing(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        await http.post("/v1/events", json=event())
        before = await snapshot(live.runtime.store.engine)
        again = await http.post("/v1/events", json=event(title="other"))
    assert again.status_code == 409
    assert await snapshot(live.runtime.store.engine) == before


async def test_put_is_an_idempotent_upsert(live: LiveApp, clock: ManualClock) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        first = await http.put("/v1/events/alpha/monthly", json=event())
        before = await snapshot(live.runtime.store.engine)
        clock.advance(hours=1)
        same = await http.put("/v1/events/alpha/monthly", json=event())
        assert await snapshot(live.runtime.store.engine) == before
        retitled = await http.put("/v1/events/alpha/monthly", json=event(title="Renamed"))
    assert (first.status_code, same.status_code, retitled.status_code) == (201, 200, 200)
    assert same.json() == first.json()
    assert retitled.json()["title"] == "Renamed"
    assert retitled.json()["nextOccurrence"] == first.json()["nextOccurrence"]
    assert retitled.json()["updatedAt"] == "2030-01-01T01:00:00Z"


async def test_put_body_must_match_the_url(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        response = await http.put("/v1/events/alpha/other", json=event())
        without_key = {k: v for k, v in event().items() if k != "key"}
        created = await http.put("/v1/events/alpha/other", json=without_key)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "key"
    assert created.status_code == 201
    assert created.json()["key"] == "other"


async def test_patch_reschedules_from_now(live: LiveApp, clock: ManualClock) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        await http.post("/v1/events", json=event())
        clock.advance(days=20)
        patched = await http.patch(
            "/v1/events/alpha/monthly",
            json={"schedulingPattern": {"pattern": "30 2 * * *", "timezone": "UTC"}},
        )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["nextOccurrence"] == "2030-01-21T02:30:00Z"
    assert body["schedulingPattern"]["maxOccurrences"] == 12  # merged, not replaced


async def test_pause_resume_and_their_idempotence(live: LiveApp, clock: ManualClock) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        await http.post("/v1/events", json=event())
        paused = await http.post("/v1/events/alpha/monthly/pause")
        again = await http.post("/v1/events/alpha/monthly/pause")
        listed = await http.get("/v1/events", params={"status": "paused"})
        clock.advance(days=30)
        resumed = await http.post("/v1/events/alpha/monthly/resume")
        resumed_again = await http.post("/v1/events/alpha/monthly/resume")
    assert paused.json()["status"] == "paused"
    assert again.json() == paused.json()
    assert [item["key"] for item in listed.json()["items"]] == ["monthly"]
    assert resumed.json()["status"] == "active"
    # Missed fires while paused are not made up: next is the one after now.
    assert resumed.json()["nextOccurrence"] == "2030-02-15T04:00:00Z"
    assert resumed_again.json() == resumed.json()


async def test_trigger_inserts_a_manual_delivery_without_moving_the_schedule(
    live: LiveApp,
) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        await http.post("/v1/events", json=event())
        assert not await live.runtime.dispatch_wakeup.wait(0)
        triggered = await http.post("/v1/events/alpha/monthly/trigger")
        after = await http.get("/v1/events/alpha/monthly")
    assert triggered.status_code == 202
    assert await live.runtime.dispatch_wakeup.wait(5)
    async with live.runtime.store.engine.connect() as connection:
        rows = (await connection.execute(select(deliveries))).mappings().all()
    assert len(rows) == 1
    row: Any = rows[0]
    assert row["id"] == triggered.json()["id"]
    assert (row["kind"], row["status"], row["attempts"]) == ("manual", "pending", 0)
    assert row["event_key"] == "monthly"
    assert after.json()["occurrences"] == 0
    assert after.json()["nextOccurrence"] == "2030-01-15T04:00:00Z"


async def test_a_one_shot_just_past_fires_at_once_further_past_is_refused(
    live: LiveApp,
) -> None:
    just_past = inline_event("soon", misfireGraceSeconds=60)
    just_past["schedulingPattern"] = {"pattern": "2029-12-31T23:59:30Z"}
    long_past = inline_event("late", misfireGraceSeconds=10)
    long_past["schedulingPattern"] = {"pattern": "2029-12-31T23:59:30Z"}
    async with live.client("alpha") as http:
        accepted = await http.post("/v1/events", json=just_past)
        before = await snapshot(live.runtime.store.engine)
        refused = await http.post("/v1/events", json=long_past)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["nextOccurrence"] == "2029-12-31T23:59:30Z"
    assert accepted.json()["status"] == "active"
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "schedulingPattern.pattern"
    assert await snapshot(live.runtime.store.engine) == before


async def test_a_schedule_past_its_end_is_completed(live: LiveApp) -> None:
    ended = inline_event("ended")
    ended["schedulingPattern"] = {"pattern": "0 * * * *", "endAt": "2029-06-01T00:00:00Z"}
    async with live.client("alpha") as http:
        created = await http.post("/v1/events", json=ended)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "completed"
    assert created.json()["nextOccurrence"] is None


async def test_list_filters_and_paginates(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        for number in range(5):
            await http.post("/v1/events", json=event(f"e{number}"))
        await http.post("/v1/events", json=inline_event("inline"))
        await http.post("/v1/events/alpha/e1/pause")
        by_action = (await http.get("/v1/events", params={"action": "notify"})).json()
        paused = (await http.get("/v1/events", params={"status": "paused"})).json()
        page1 = (await http.get("/v1/events", params={"limit": 4})).json()
        page2 = (
            await http.get("/v1/events", params={"limit": 4, "cursor": page1["nextCursor"]})
        ).json()
        bad_cursor = await http.get("/v1/events", params={"cursor": "garbage!"})
        bad_status = await http.get("/v1/events", params={"status": "sleeping"})
        bad_limit = await http.get("/v1/events", params={"limit": 0})
    assert [e["key"] for e in by_action["items"]] == [f"e{n}" for n in range(5)]
    assert [e["key"] for e in paused["items"]] == ["e1"]
    assert [e["key"] for e in page1["items"]] == ["e0", "e1", "e2", "e3"]
    assert [e["key"] for e in page2["items"]] == ["e4", "inline"]
    assert page2["nextCursor"] is None
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"
    assert bad_status.json()["errors"][0]["field"] == "status"
    assert bad_limit.json()["errors"][0]["field"] == "limit"


async def test_delete_removes_the_event(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        await http.post("/v1/events", json=event())
        await http.post("/v1/events/alpha/monthly/trigger")
        assert (await http.delete("/v1/events/alpha/monthly")).status_code == 204
        assert (await http.get("/v1/events/alpha/monthly")).status_code == 404
        assert (await http.post("/v1/events/alpha/monthly/trigger")).status_code == 404
    state = await snapshot(live.runtime.store.engine)
    assert state["events"] == []
    assert state["deliveries"] == []


async def test_concurrent_puts_of_one_new_event_converge(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_action(http)
        answers = await asyncio.gather(
            *(http.put("/v1/events/alpha/monthly", json=event()) for _ in range(8))
        )
        listed = (await http.get("/v1/events")).json()["items"]
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 7 + [201], [answer.text for answer in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert [item["key"] for item in listed] == ["monthly"]


async def test_concurrent_creates_each_get_their_own_answer(live: LiveApp) -> None:
    """Creates arriving together share a transaction; each still gets its own verdict."""
    async with live.client("alpha") as http:
        await _with_action(http)
        assert (await http.post("/v1/events", json=event("taken"))).status_code == 201
        keys = [f"e{index}" for index in range(24)] + ["taken", "e3"]
        bodies = [event(key) for key in keys] + [event("orphan", action="missing")]
        answers = await asyncio.gather(*(http.post("/v1/events", json=body) for body in bodies))
        listed = (await http.get("/v1/events", params={"limit": 100})).json()["items"]
    statuses = [answer.status_code for answer in answers]
    # e3 is sent twice at once: exactly one of the two is created.
    assert sorted(statuses[3:4] + statuses[25:26]) == [201, 409]
    assert statuses[:3] + statuses[4:24] == [201] * 23
    assert statuses[24] == 409  # "taken" existed before
    assert statuses[26] == 422, answers[26].text  # its action does not exist
    assert answers[26].json()["errors"][0]["field"] == "action"
    created = {answer.json()["key"] for answer in answers if answer.status_code == 201}
    assert created == {f"e{index}" for index in range(24)}
    assert sorted(item["key"] for item in listed) == sorted([*created, "taken"])
