"""The API of overlap policies, jitter and backfill: documents, preview, backfill route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from onewatch.domain.jitter import jittered
from tests.api.samples import event, webhook_action
from tests.engine.support import add_delivery, event_row
from tests.support.live import LiveApp
from tests.support.store import snapshot


def _hourly(**changes: Any) -> dict[str, Any]:
    return event("hourly", schedulingPattern={"pattern": "0 * * * *"}, **changes)


async def _with_event(http: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, Any]:
    assert (await http.post("/v1/actions", json=webhook_action())).status_code == 201
    created = await http.post("/v1/events", json=document)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_overlap_and_jitter_are_stored_shown_and_patched(live: LiveApp) -> None:
    document = _hourly(overlap="buffer_one")
    document["schedulingPattern"]["jitterSeconds"] = 300
    async with live.client("alpha") as http:
        created = await _with_event(http, document)
        assert created["overlap"] == "buffer_one"
        assert created["schedulingPattern"]["jitterSeconds"] == 300
        patched = await http.patch("/v1/events/alpha/hourly", json={"overlap": "skip"})
        fetched = (await http.get("/v1/events/alpha/hourly")).json()
    assert patched.status_code == 200, patched.text
    assert (fetched["overlap"], fetched["schedulingPattern"]["jitterSeconds"]) == ("skip", 300)


async def test_preview_shows_each_nominal_instant_and_its_jittered_send_time(
    live: LiveApp,
) -> None:
    body = {
        "schedulingPattern": {"pattern": "0 * * * *", "jitterSeconds": 900},
        "after": "2030-01-01T00:00:00Z",
        "count": 3,
        "key": "hourly",
    }
    async with live.client("alpha") as http:
        named = (await http.post("/v1/schedules/preview", json=body)).json()
        unnamed = (await http.post("/v1/schedules/preview", json={**body, "key": None})).json()
    nominal = [datetime(2030, 1, 1, hour, tzinfo=UTC) for hour in (1, 2, 3)]
    assert named["jitterSeconds"] == 900
    assert [item["scheduledFor"] for item in named["occurrences"]] == named["nextFires"]
    for moment, item in zip(nominal, named["occurrences"], strict=True):
        due = datetime.fromisoformat(item["dueAt"])
        assert due == jittered("alpha", "hourly", moment, 900), "what the scheduler will use"
        assert moment <= due <= moment + timedelta(seconds=900)
    # The offsets depend on the event: without a key they cannot be shown.
    assert [item["dueAt"] for item in unnamed["occurrences"]] == [None, None, None]


async def test_preview_without_jitter_sends_at_the_instant(live: LiveApp) -> None:
    body = {"schedulingPattern": {"pattern": "0 * * * *"}, "count": 2}
    async with live.client("alpha") as http:
        answer = (await http.post("/v1/schedules/preview", json=body)).json()
    assert [item["dueAt"] for item in answer["occurrences"]] == answer["nextFires"]


async def test_a_skipped_delivery_is_listed_with_its_reason(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        created = await _with_event(http, _hourly(overlap="skip"))
        due = datetime(2029, 12, 31, 23, tzinfo=UTC)
        reason = "overlap skip: delivery d-1 is still unfinished"
        await add_delivery(
            live.runtime.store.engine,
            ident="d-2",
            event_id=int(created["id"]),
            event_key="hourly",
            service="alpha",
            due=due,
            status="skipped",
            skip_reason=reason,
            finished_at=due,
        )
        listed = (await http.get("/v1/events/alpha/hourly/deliveries")).json()["items"]
        only_skipped = (await http.get("/v1/deliveries", params={"status": "skipped"})).json()
    assert [(d["status"], d["skipReason"], d["nextAttemptAt"]) for d in listed] == [
        ("skipped", reason, None)
    ]
    assert [d["id"] for d in only_skipped["items"]] == ["d-2"]


RANGE = {"from": "2029-12-31T20:00:00Z", "to": "2029-12-31T23:00:00Z"}


async def test_backfill_creates_each_past_occurrence_once(live: LiveApp) -> None:
    document = _hourly()
    document["schedulingPattern"]["jitterSeconds"] = 60
    async with live.client("alpha") as http:
        created = await _with_event(http, document)
        first = await http.post("/v1/events/alpha/hourly/backfill", json=RANGE)
        again = await http.post("/v1/events/alpha/hourly/backfill", json=RANGE)
        wider = await http.post(
            "/v1/events/alpha/hourly/backfill", json={**RANGE, "to": "2030-01-01T00:00:00Z"}
        )
        listed = (await http.get("/v1/events/alpha/hourly/deliveries")).json()["items"]
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("occurrences", "created", "existed")} == {
        "occurrences": 4,
        "created": 4,
        "existed": 0,
    }
    assert (again.json()["created"], again.json()["existed"]) == (0, 4)
    assert (wider.json()["created"], wider.json()["existed"]) == (1, 4)
    hours = sorted(d["scheduledFor"] for d in listed)
    assert hours == [f"2029-12-31T{h}:00:00Z" for h in (20, 21, 22, 23)] + ["2030-01-01T00:00:00Z"]
    assert {(d["kind"], d["status"]) for d in listed} == {("scheduled", "pending")}
    for item in listed:
        nominal = datetime.fromisoformat(item["scheduledFor"])
        assert datetime.fromisoformat(item["nextAttemptAt"]) == jittered(
            "alpha", "hourly", nominal, 60
        )
    row = await event_row(live.runtime.store.engine, int(created["id"]))
    assert row["next_occurrence"] == datetime(2030, 1, 1, 1, tzinfo=UTC), "not moved"
    assert row["occurrences"] == 0


async def _refused(live: LiveApp, body: Any, field: str, status: int = 422) -> None:
    async with live.client("alpha") as http:
        before = await snapshot(live.runtime.store.engine)
        response = await http.post("/v1/events/alpha/minutely/backfill", json=body)
    assert response.status_code == status, response.text
    assert field in [error["field"] for error in response.json()["errors"]], response.text
    assert await snapshot(live.runtime.store.engine) == before


async def test_backfill_refuses_a_bad_range_naming_the_field(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _with_event(http, event("minutely", schedulingPattern={"pattern": "* * * * *"}))
    # 2880 minutes: more than the 1000 one backfill may create.
    await _refused(live, {"from": "2029-12-30T00:00:00Z", "to": "2029-12-31T23:59:00Z"}, "to")
    await _refused(live, {"from": "2029-12-31T23:00:00Z", "to": "2030-01-02T00:00:00Z"}, "to")
    await _refused(live, {"from": "2029-12-31T23:00:00Z", "to": "2029-12-31T22:00:00Z"}, "to")
    await _refused(live, {"to": "2029-12-31T22:00:00Z"}, "from")
    await _refused(live, {"from": "yesterday", "to": "2029-12-31T22:00:00Z"}, "from")


async def test_backfill_of_an_unknown_or_foreign_event(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        missing = await http.post("/v1/events/alpha/nothing/backfill", json=RANGE)
        foreign = await http.post("/v1/events/beta/hourly/backfill", json=RANGE)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "key"
    assert foreign.status_code == 404, "another service's event looks absent"
