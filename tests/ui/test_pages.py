"""The dashboard's pages over HTTP: isolation, the form's validation, schedules, redrive."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from onewatch.store.ids import new_delivery_id
from onewatch.store.schema import deliveries, delivery_attempts, events
from tests.support.live import LiveApp, ManualClock
from tests.ui.support import browser, csrf_of, post_form


def _event(key: str, pattern: str = "0 9 * * *", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": key,
        "webhook": {"endpoint": "http://127.0.0.1:9/hook"},
        "schedulingPattern": {"pattern": pattern, "timezone": "Europe/Berlin"},
    }
    document.update(changes)
    return document


async def _create(live: LiveApp, service: str, *documents: dict[str, Any]) -> None:
    async with live.client(service) as api:
        for document in documents:
            answer = await api.post("/v1/events", json=document)
            assert answer.status_code == 201, answer.text


def _form(**changes: str) -> dict[str, str]:
    fields = {
        "key": "nightly",
        "target": "webhook",
        "webhook.endpoint": "http://127.0.0.1:9/hook",
        "webhook.method": "POST",
        "schedulingPattern.pattern": "0 2 * * *",
        "schedulingPattern.timezone": "Europe/Berlin",
    }
    fields.update(changes)
    return fields


async def test_a_service_sees_only_its_own_events(live: LiveApp) -> None:
    await _create(live, "alpha", _event("mine"))
    await _create(live, "beta", _event("theirs"))
    async with browser(live, "alpha") as http:
        listing = await http.get("/ui/events", params={"service": "beta"})
        foreign = await http.get("/ui/events/beta/theirs")
        foreign_edit = await http.get("/ui/events/beta/theirs/edit")
        foreign_pause = await post_form(http, "/ui/", "/ui/events/beta/theirs/pause")
    assert "mine" in listing.text
    assert "theirs" not in listing.text
    assert foreign.status_code == foreign_edit.status_code == foreign_pause.status_code == 404
    async with live.client("beta") as api:
        assert (await api.get("/v1/events/beta/theirs")).json()["status"] == "active"


async def test_an_admin_sees_every_service_and_filters_by_one(live: LiveApp) -> None:
    await _create(live, "alpha", _event("mine"))
    await _create(live, "beta", _event("theirs"))
    async with browser(live, "root", admin=True) as http:
        everything = await http.get("/ui/events")
        only_beta = await http.get("/ui/events", params={"service": "beta"})
        overview = await http.get("/ui/", params={"service": "beta"})
    assert "mine" in everything.text and "theirs" in everything.text
    assert "theirs" in only_beta.text and "mine" not in only_beta.text
    assert re.search(r'data-testid="count-active">1<', overview.text)


async def test_search_filters_and_pages(live: LiveApp) -> None:
    await _create(live, "alpha", *(_event(f"report-{n:02d}") for n in range(30)), _event("other"))
    async with live.client("alpha") as api:
        await api.post("/v1/events/alpha/report-03/pause")
    async with browser(live, "alpha") as http:
        first = await http.get("/ui/events", params={"q": "REPORT"})
        more = re.search(r'rel="next" href="([^"]+)"', first.text)
        assert more is not None
        second = await http.get("/ui/events" + more.group(1).replace("&amp;", "&"))
        paused = await http.get("/ui/events", params={"status": "paused"})
    keys = re.findall(r">(report-\d\d|other)</a>", first.text + second.text)
    assert sorted(keys) == [f"report-{n:02d}" for n in range(30)]
    assert len(re.findall(r">report-\d\d</a>", first.text)) == 25
    assert re.findall(r">(report-\d\d|other)</a>", paused.text) == ["report-03"]
    assert "At 09:00" in first.text  # the pattern in words


async def test_the_form_shows_the_apis_message_next_to_the_field(live: LiveApp) -> None:
    bad = _form(**{"schedulingPattern.pattern": "61 * * * *"})
    async with browser(live, "alpha") as http:
        answer = await post_form(http, "/ui/events/new", "/ui/events/new", **bad)
    async with live.client("alpha") as api:
        document = _event("nightly", "61 * * * *")
        refused = (await api.post("/v1/events", json=document)).json()
        assert (await api.get("/v1/events/alpha/nightly")).status_code == 404
    assert answer.status_code == 422
    (expected,) = refused["errors"]
    assert expected["field"] == "schedulingPattern.pattern"
    next_to_field = re.search(r'id="f-schedulingPattern-pattern-error">([^<]+)</p>', answer.text)
    assert next_to_field is not None
    assert next_to_field.group(1) == expected["reason"].replace("'", "&#39;")


async def test_json_inputs_that_do_not_parse_are_named(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        answer = await post_form(
            http, "/ui/events/new", "/ui/events/new", **_form(**{"params.url": "{id: 1"})
        )
    assert answer.status_code == 422
    assert re.search(r'id="f-params-url-error">not valid JSON', answer.text)


async def test_a_framing_header_in_the_form_is_named_next_to_its_input(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        answer = await post_form(
            http,
            "/ui/events/new",
            "/ui/events/new",
            **_form(**{"params.header": '{"Host": "internal.example"}'}),
        )
    assert answer.status_code == 422
    assert "params.header.Host" in answer.text
    assert re.search(r'id="f-params-header-error">Host is a framing', answer.text)
    async with live.client("alpha") as api:
        assert (await api.get("/v1/events/alpha/nightly")).status_code == 404


async def test_create_then_edit_through_the_form(live: LiveApp) -> None:
    fields = _form(
        title="Nightly",
        **{
            "params.body": '{"hello": "world"}',
            "retryPolicy.maxAttempts": "2",
            "schedulingPattern.startAt": "2030-02-01T00:00",
        },
    )
    async with browser(live, "alpha") as http:
        created = await post_form(http, "/ui/events/new", "/ui/events/new", **fields)
        assert created.status_code == 303
        assert created.headers["location"] == "/ui/events/alpha/nightly?notice=created"
        edit_page = (await http.get("/ui/events/alpha/nightly/edit")).text
        assert 'value="Nightly"' in edit_page
        changed = {**fields, "schedulingPattern.pattern": "0 3 * * *", "status": "paused"}
        saved = await http.post(
            "/ui/events/alpha/nightly/edit", data={"csrf_token": csrf_of(edit_page), **changed}
        )
        assert saved.status_code == 303
    async with live.client("alpha") as api:
        stored = (await api.get("/v1/events/alpha/nightly")).json()
    assert stored["title"] == "Nightly"
    assert stored["status"] == "paused"
    assert stored["params"]["body"] == {"hello": "world"}
    assert stored["retryPolicy"]["maxAttempts"] == 2
    # A start without an offset is read in the event's zone (CET, UTC+1 in February).
    assert stored["schedulingPattern"]["startAt"] == "2030-01-31T23:00:00Z"
    assert stored["schedulingPattern"]["pattern"] == "0 3 * * *"


async def test_the_preview_describes_and_expands_the_pattern(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        good = await http.get(
            "/ui/events/preview",
            params={
                "schedulingPattern.pattern": "30 2 * * *",
                "schedulingPattern.timezone": "Europe/Berlin",
            },
        )
        bad = await http.get(
            "/ui/events/preview", params={"schedulingPattern.pattern": "0 0 30 2 *"}
        )
    assert "At 02:30" in good.text
    # The clock is at 2030-01-01T00:00Z: the first fire is 02:30 CET, 01:30 UTC.
    assert "2030-01-01 02:30:00 CET (+01:00)" in good.text
    assert "2030-01-01 01:30:00 UTC" in good.text
    assert 'data-testid="preview-error"' in bad.text
    assert "schedulingPattern.pattern" in bad.text


async def test_the_event_page_marks_clock_changes_between_fires(live: LiveApp) -> None:
    await _create(live, "alpha", _event("monthly", "0 9 1 * *"))
    async with browser(live, "alpha") as http:
        html = (await http.get("/ui/events/alpha/monthly")).text
    fires = re.search(r'data-testid="next-fires">(.*?)</table>', html, re.S)
    assert fires is not None
    rows = re.findall(r"<tr>\s*<td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>", fires.group(1))
    assert [int(row[0]) for row in rows] == list(range(1, 11))
    assert rows[0][1:] == ("2030-01-01 09:00:00 CET (+01:00)", "2030-01-01 08:00:00 UTC")
    assert rows[3][1:] == ("2030-04-01 09:00:00 CEST (+02:00)", "2030-04-01 07:00:00 UTC")
    # Fires 2030-01-01 .. 2030-10-01: Berlin goes forward on 2030-03-31 (between fires 3
    # and 4); going back on 2030-10-27 is after the tenth fire, so it is not shown.
    marks = re.findall(r"Clocks (go forward|go back) in Europe/Berlin at ([^:]+)", fires.group(1))
    assert marks == [("go forward", "2030-03-31 03")]
    order = fires.group(1)
    assert order.index("go forward") < order.index("2030-04-01 09:00")
    assert "At 09:00, on day 1 of the month" in html


async def test_the_overview_counts(live: LiveApp, clock: ManualClock) -> None:
    await _create(live, "alpha", _event("a"), _event("b", "*/30 * * * *"), _event("c"))
    async with live.client("alpha") as api:
        await api.post("/v1/events/alpha/c/pause")
        await api.post("/v1/events/alpha/a/trigger")
    await _create(live, "beta", _event("d"))
    async with browser(live, "alpha") as http:
        html = (await http.get("/ui/")).text
    assert re.search(r'data-testid="count-active">2<', html)
    assert re.search(r'data-testid="count-paused">1<', html)
    assert re.search(r'data-testid="fires-hour">1<', html)
    # The chart, from 2030-01-01T00:00Z: a once (08:00Z) + b at 00:30 .. 23:30Z (47).
    bars = [int(n) for n in re.findall(r": (\d+) fire\(s\)</title>", html)]
    assert len(bars) == 24
    assert sum(bars) == 48
    assert bars[0] == 1 and bars[8] == 3


async def _dead_delivery(live: LiveApp, service: str, key: str) -> str:
    await _create(live, service, _event(key))
    async with live.client(service) as api:
        delivery = (await api.post(f"/v1/events/{service}/{key}/trigger")).json()
    now = live.runtime.clock.now()
    async with live.runtime.store.engine.begin() as connection:
        await connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery["id"])
            .values(status="dead", attempts=1, finished_at=now, last_status_code=500)
        )
        await connection.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery["id"],
                attempt=1,
                started_at=now + timedelta(milliseconds=5),
                latency_ms=12,
                status_code=500,
                outcome="failed",
                response_excerpt="target says no",
                error="HTTP 500",
            )
        )
    return str(delivery["id"])


async def _statuses(live: LiveApp) -> dict[str, str]:
    async with live.runtime.store.engine.connect() as connection:
        found = await connection.execute(select(deliveries.c.id, deliveries.c.status))
    return {row.id: row.status for row in found}


async def test_dead_letters_redrive_many_but_only_ones_own(live: LiveApp) -> None:
    mine = [await _dead_delivery(live, "alpha", key) for key in ("a", "b")]
    theirs = await _dead_delivery(live, "beta", "c")
    async with browser(live, "alpha") as http:
        listed = await http.get("/ui/dead-letters")
        assert all(ident in listed.text for ident in mine)
        assert theirs not in listed.text
        assert "target says no" in (await http.get("/ui/events/alpha/a")).text
        assert "HTTP 500" in listed.text
        csrf = csrf_of(listed.text)
        content = httpx.QueryParams([("csrf_token", csrf), *(("id", i) for i in [*mine, theirs])])
        answer = await http.post(
            "/ui/dead-letters/redrive",
            content=str(content),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 303
    assert "count=2" in answer.headers["location"]
    statuses = await _statuses(live)
    assert [statuses[ident] for ident in mine] == ["retrying", "retrying"]
    assert statuses[theirs] == "dead"


async def test_actions_list_and_the_events_using_each(live: LiveApp) -> None:
    action = {"key": "notify", "type": "webhook", "webhook": {"endpoint": "http://127.0.0.1:9/a"}}
    async with live.client("alpha") as api:
        assert (await api.post("/v1/actions", json=action)).status_code == 201
    await _create(
        live, "alpha", {**_event("uses-it"), "action": "notify", "webhook": None}, _event("not")
    )
    async with browser(live, "alpha") as http:
        listing = await http.get("/ui/actions")
        detail = await http.get("/ui/actions/alpha/notify")
        missing = await http.get("/ui/actions/alpha/nope")
    assert "notify" in listing.text
    users = re.search(r'data-testid="action-users">(.*?)</ul>', detail.text, re.S)
    assert users is not None
    assert "uses-it" in users.group(1) and ">not<" not in users.group(1)
    assert missing.status_code == 404


async def test_unknown_pages_and_refusals_answer_in_html(live: LiveApp) -> None:
    await _create(live, "alpha", _event("done"))
    async with live.runtime.store.engine.begin() as connection:
        await connection.execute(update(events).values(status="completed"))
    async with browser(live, "alpha") as http:
        missing = await http.get("/ui/no-such-page")
        refused = await post_form(http, "/ui/", "/ui/events/alpha/done/pause")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert refused.status_code == 409
    assert "the event is completed; only an active one can pause" in refused.text
    assert 'data-testid="event-status">completed<' in refused.text
    async with live.client() as api:  # the API itself still answers in JSON
        assert (await api.get("/v1/events")).json()["error"] == "unauthorized"


async def test_run_now_lists_above_an_earlier_scheduled_fire(live: LiveApp) -> None:
    await _create(live, "alpha", _event("both"))
    now = live.runtime.clock.now()
    async with live.runtime.store.engine.begin() as connection:
        event_id = (
            await connection.execute(select(events.c.id).where(events.c.key == "both"))
        ).scalar_one()
        # As the scheduler's fire inserts it (store.firing), before the run now below.
        await connection.execute(
            insert(deliveries).values(
                id=new_delivery_id(), event_id=event_id, service="alpha", event_key="both",
                kind="scheduled", scheduled_for=now - timedelta(hours=1), status="succeeded",
                next_attempt_at=now, attempts=1, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    async with browser(live, "alpha") as http:
        ran = await post_form(http, "/ui/events/alpha/both", "/ui/events/alpha/both/run")
        assert ran.status_code in (200, 303), ran.text
        page = (await http.get("/ui/events/alpha/both")).text
    kinds = re.findall(r'data-testid="delivery">\s*<p><span[^>]*>\w+</span>\s*(\w+) fire', page)
    assert kinds == ["manual", "scheduled"]


async def test_the_history_pages_back_and_has_a_refreshing_part(
    live: LiveApp, clock: ManualClock
) -> None:
    await _create(live, "alpha", _event("busy"))
    async with live.client("alpha") as api:
        for _ in range(30):
            clock.advance(seconds=1)
            assert (await api.post("/v1/events/alpha/busy/trigger")).status_code == 202
    async with browser(live, "alpha") as http:
        first = (await http.get("/ui/events/alpha/busy")).text
        older = re.search(r'href="([^"]+)#h-history">Older deliveries', first)
        assert older is not None
        second = (await http.get(older.group(1).replace("&amp;", "&"))).text
        part = await http.get("/ui/events/alpha/busy/history")
    assert first.count('data-testid="delivery"') == 25
    assert second.count('data-testid="delivery"') == 5
    # Pending deliveries: the part asks htmx to fetch it again, and it is only the part.
    assert 'hx-trigger="every 2s"' in part.text
    assert "<html" not in part.text and part.text.count('data-testid="delivery"') == 25
