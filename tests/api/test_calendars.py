"""Business calendars over HTTP: CRUD per service, events that follow one, changes and deletes."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from onewatch.store.schema import events
from tests.api.samples import event, webhook_action
from tests.support.live import LiveApp, ManualClock
from tests.support.store import snapshot


def calendar(key: str = "br-sp", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "holidays": {"country": "BR", "subdivision": "SP"},
        "exclude": ["2030-01-15"],
        "include": ["2030-01-19"],
    }
    document.update(changes)
    return document


def business_event(key: str = "payroll", **pattern: Any) -> dict[str, Any]:
    scheduling = {"pattern": "0 9 * * *", "timezone": "America/Sao_Paulo", "calendar": "br-sp"}
    scheduling.update(pattern)
    return event(key, schedulingPattern=scheduling)


async def _setup(http: Any) -> None:
    assert (await http.post("/v1/actions", json=webhook_action())).status_code == 201
    assert (await http.post("/v1/calendars", json=calendar())).status_code == 201


async def test_create_read_list_a_calendar(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        created = await http.post("/v1/calendars", json=calendar())
        fetched = await http.get("/v1/calendars/alpha/br-sp")
        listed = await http.get("/v1/calendars")
    assert created.status_code == 201
    body = created.json()
    assert fetched.json() == body
    assert listed.json()["items"] == [body]
    assert body["holidays"] == {"country": "BR", "subdivision": "SP"}
    assert body["exclude"] == ["2030-01-15"]
    assert body["include"] == ["2030-01-19"]
    assert body["weekend"] == ["SAT", "SUN"]
    assert body["createdAt"] == "2030-01-01T00:00:00Z"


async def test_another_service_never_sees_a_calendar(live: LiveApp) -> None:
    async with live.client("alpha") as alpha, live.client("beta") as beta:
        await alpha.post("/v1/calendars", json=calendar())
        read = await beta.get("/v1/calendars/alpha/br-sp")
        listed = await beta.get("/v1/calendars")
        deleted = await beta.delete("/v1/calendars/alpha/br-sp")
        put = await beta.put("/v1/calendars/alpha/br-sp", json=calendar())
        still = await alpha.get("/v1/calendars/alpha/br-sp")
        await beta.post("/v1/actions", json=webhook_action())
        named = await beta.post("/v1/events", json=business_event())
        preview = {"service": "alpha", "schedulingPattern": business_event()["schedulingPattern"]}
        previewed = await beta.post("/v1/schedules/preview", json=preview)
    assert (read.status_code, deleted.status_code, put.status_code) == (404, 404, 403)
    assert listed.json()["items"] == []
    assert still.status_code == 200
    assert previewed.status_code == 404
    assert named.status_code == 422
    assert named.json()["errors"] == [
        {"field": "schedulingPattern.calendar", "reason": "no calendar 'br-sp' in service 'beta'"}
    ]


async def test_unknown_country_and_subdivision_are_422_naming_the_field(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        before = await snapshot(live.runtime.store.engine)
        country = await http.post("/v1/calendars", json=calendar(holidays={"country": "ZZ"}))
        subdivision = await http.post(
            "/v1/calendars", json=calendar(holidays={"country": "BR", "subdivision": "XX"})
        )
        both = await http.post(
            "/v1/calendars", json=calendar(exclude=["2030-02-01"], include=["2030-02-01"])
        )
        weekend = await http.post(
            "/v1/calendars",
            json=calendar(weekend=["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]),
        )
        assert await snapshot(live.runtime.store.engine) == before
    assert country.status_code == 422
    assert country.json()["errors"][0]["field"] == "holidays.country"
    assert subdivision.status_code == 422
    assert subdivision.json()["errors"][0]["field"] == "holidays.subdivision"
    assert "'XX' is not a subdivision of BR" in subdivision.json()["errors"][0]["reason"]
    assert both.status_code == 422
    assert "2030-02-01 is both in exclude and in include" in both.json()["message"]
    assert weekend.status_code == 422
    assert weekend.json()["errors"][0]["field"] == "weekend"


async def test_an_event_follows_its_calendar(live: LiveApp) -> None:
    """2030-01-01 (a Tuesday) is a holiday: the first fire is Wednesday the 2nd at 09:00."""
    async with live.client("alpha") as http:
        await _setup(http)
        created = await http.post("/v1/events", json=business_event())
    assert created.status_code == 201
    body = created.json()
    assert body["nextOccurrence"] == "2030-01-02T12:00:00Z"
    assert body["schedulingPattern"]["calendar"] == "br-sp"
    assert body["schedulingPattern"]["nonBusinessDay"] is None


async def test_business_day_minus_one_is_the_last_business_day(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        created = await http.post("/v1/events", json=business_event(businessDay=-1))
    # January 2030 ends on a Thursday.
    assert created.json()["nextOccurrence"] == "2030-01-31T12:00:00Z"
    assert created.json()["schedulingPattern"]["businessDay"] == -1


async def test_schedule_fields_without_a_known_calendar_are_422(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        unknown = await http.post("/v1/events", json=business_event(calendar="nope"))
        no_calendar = await http.post(
            "/v1/events", json=business_event(calendar=None, businessDay=2)
        )
        days_given = await http.post(
            "/v1/events", json=business_event(pattern="0 9 1 * *", businessDay=2)
        )
        every = await http.post("/v1/events", json=business_event(pattern="@every 1h"))
        never = await http.post("/v1/events", json=business_event(pattern="0 9 * * SUN"))
        bad_rule = await http.post("/v1/events", json=business_event(nonBusinessDay="later"))
    assert unknown.json()["errors"][0]["field"] == "schedulingPattern.calendar"
    assert no_calendar.json()["errors"] == [
        {
            "field": "schedulingPattern.businessDay",
            "reason": "needs a calendar (schedulingPattern.calendar)",
        }
    ]
    assert days_given.json()["errors"][0]["field"] == "schedulingPattern.businessDay"
    assert every.json()["errors"][0]["field"] == "schedulingPattern.calendar"
    assert bad_rule.json()["errors"][0]["field"] == "schedulingPattern.nonBusinessDay"
    assert never.status_code == 422, never.text
    assert never.json()["errors"][0]["field"] == "schedulingPattern.calendar"
    assert "no business day of calendar 'br-sp' matches" in never.json()["message"]
    for answer in (unknown, no_calendar, days_given, every, bad_rule, never):
        assert answer.status_code == 422


async def test_changing_the_calendar_moves_the_next_fire_of_its_events(
    live: LiveApp, clock: ManualClock
) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        await http.post("/v1/events", json=business_event())
        other = event("plain", schedulingPattern={"pattern": "0 9 * * *", "timezone": "UTC"})
        await http.post("/v1/events", json=other)
        plain_before = (await http.get("/v1/events/alpha/plain")).json()
        clock.advance(seconds=5)
        changed = await http.put(
            "/v1/calendars/alpha/br-sp", json=calendar(exclude=["2030-01-02", "2030-01-03"])
        )
        same = await http.put(
            "/v1/calendars/alpha/br-sp", json=calendar(exclude=["2030-01-03", "2030-01-02"])
        )
        payroll = (await http.get("/v1/events/alpha/payroll")).json()
        plain_after = (await http.get("/v1/events/alpha/plain")).json()
    assert (changed.status_code, same.status_code) == (200, 200)
    assert changed.json()["exclude"] == ["2030-01-02", "2030-01-03"]
    assert same.json()["updatedAt"] == changed.json()["updatedAt"]
    assert payroll["nextOccurrence"] == "2030-01-04T12:00:00Z"  # Friday
    assert plain_after == plain_before  # an event without the calendar is untouched


async def test_deleting_a_calendar_in_use_is_409_naming_the_events(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        await http.post("/v1/events", json=business_event("payroll"))
        await http.post("/v1/events", json=business_event("invoices", businessDay=1))
        refused = await http.delete("/v1/calendars/alpha/br-sp")
        await http.delete("/v1/events/alpha/payroll")
        await http.delete("/v1/events/alpha/invoices")
        deleted = await http.delete("/v1/calendars/alpha/br-sp")
        gone = await http.get("/v1/calendars/alpha/br-sp")
    assert refused.status_code == 409
    assert refused.json()["usedBy"] == {"count": 2, "events": ["payroll", "invoices"]}
    assert "payroll, invoices" in refused.json()["message"]
    assert (deleted.status_code, gone.status_code) == (204, 404)


async def test_an_event_can_switch_calendar_off_with_patch(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        await http.post("/v1/events", json=business_event())
        patched = await http.patch(
            "/v1/events/alpha/payroll", json={"schedulingPattern": {"calendar": None}}
        )
    assert patched.status_code == 200
    assert "calendar" not in patched.json()["schedulingPattern"]
    assert patched.json()["nextOccurrence"] == "2030-01-01T12:00:00Z"  # the holiday fires


async def test_resume_follows_the_calendar(live: LiveApp, clock: ManualClock) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        await http.post("/v1/events", json=business_event())
        await http.post("/v1/events/alpha/payroll/pause")
        clock.advance(days=13)  # 2030-01-14, a Monday; the 15th is excluded
        resumed = await http.post("/v1/events/alpha/payroll/resume")
    assert resumed.json()["nextOccurrence"] == "2030-01-14T12:00:00Z"


async def test_batch_creates_follow_the_calendar(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        await _setup(http)
        answer = await http.post(
            "/v1/events/batch",
            json={"items": [business_event("a"), business_event("b", calendar="nope")]},
        )
    results = answer.json()["items"]
    assert results[0]["status"] == 201
    assert results[0]["event"]["nextOccurrence"] == "2030-01-02T12:00:00Z"
    assert results[1]["status"] == 422


async def test_preview_shows_calendar_fires_and_the_days_off(live: LiveApp) -> None:
    body = {
        "schedulingPattern": {
            "pattern": "0 9 1 * *",
            "timezone": "America/Sao_Paulo",
            "calendar": "br-sp",
            "nonBusinessDay": "next",
        },
        "count": 3,
    }
    async with live.client("alpha") as http:
        await _setup(http)
        answer = await http.post("/v1/schedules/preview", json=body)
        unknown = await http.post(
            "/v1/schedules/preview",
            json={**body, "schedulingPattern": {**body["schedulingPattern"], "calendar": "x"}},
        )
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    # 2030-01-01 is a holiday, 2030-03-01 a Friday, 2030-02-01 a Friday too.
    assert preview["nextFires"] == [
        "2030-01-02T12:00:00Z",
        "2030-02-01T12:00:00Z",
        "2030-03-01T12:00:00Z",
    ]
    assert preview["calendar"] == "br-sp"
    assert preview["daysOff"] == [
        {
            "occurrence": "2030-01-01T12:00:00Z",
            "date": "2030-01-01",
            "reason": "holiday: Universal Fraternization Day",
            "movedTo": "2030-01-02",
        }
    ]
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "schedulingPattern.calendar"


async def test_creates_racing_a_calendar_change_all_end_on_the_new_rules(live: LiveApp) -> None:
    """Whichever commits first, no event keeps the rules of the calendar before the change."""
    async with live.client("alpha") as http:
        await _setup(http)
        changed = calendar(exclude=["2030-01-02"])
        answers = await asyncio.gather(
            *(http.post("/v1/events", json=business_event(f"e{n}")) for n in range(20)),
            http.put("/v1/calendars/alpha/br-sp", json=changed),
            *(http.post("/v1/events", json=business_event(f"f{n}")) for n in range(20)),
        )
        assert {answer.status_code for answer in answers} == {200, 201}
        stored = (await http.get("/v1/events", params={"limit": 100})).json()["items"]
    created = [answer.json() for answer in answers if answer.status_code == 201]
    assert len(created) >= 39  # a create may lose to the change (409, retry) at most rarely
    rules = await _rows_rules(live)
    assert set(rules) == {event["key"] for event in stored}
    assert all(rule["exclude"] == ["2030-01-02"] for rule in rules.values()), rules
    assert {event["nextOccurrence"] for event in stored} == {"2030-01-03T12:00:00Z"}


async def _rows_rules(live: LiveApp) -> dict[str, Any]:
    async with live.runtime.store.engine.connect() as connection:
        rows = await connection.execute(select(events.c.key, events.c.calendar_rules))
        return {row.key: row.calendar_rules for row in rows}


async def test_every_calendar_change_is_audited_with_its_before_and_after(live: LiveApp) -> None:
    async with live.client("alpha") as http:
        assert (await http.post("/v1/calendars", json=calendar())).status_code == 201
        changed = calendar(exclude=["2030-01-16"])
        assert (await http.put("/v1/calendars/alpha/br-sp", json=changed)).status_code == 200
        assert (await http.delete("/v1/calendars/alpha/br-sp")).status_code == 204
        answer = await http.get("/v1/audit", params={"resourceType": "calendar"})
    entries = answer.json()["items"]
    assert [(e["key"], e["action"]) for e in entries] == [
        ("br-sp", "delete"),
        ("br-sp", "update"),
        ("br-sp", "create"),
    ]
    assert entries[1]["before"]["exclude"] == ["2030-01-15"]
    assert entries[1]["after"]["exclude"] == ["2030-01-16"]
    assert entries[0]["after"] is None and entries[2]["before"] is None
