"""The dashboard's audit page, events' last results and the failing filter, the deliveries
page, and the bulk forms (pause/resume, redrive), over HTTP as a browser speaks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from onewatch.store.schema import audit_log, deliveries, events
from tests.support.live import LiveApp
from tests.ui.support import browser, csrf_of


def _event(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "webhook": {"endpoint": "http://127.0.0.1:9/hook", "headers": {"X-Token": "t0p"}},
        "schedulingPattern": {"pattern": "0 9 * * *", "timezone": "Europe/Berlin"},
    }


async def _create(live: LiveApp, service: str, *keys: str) -> None:
    async with live.client(service) as api:
        for key in keys:
            answer = await api.post("/v1/events", json=_event(key))
            assert answer.status_code == 201, answer.text


async def _ran(live: LiveApp, service: str, key: str, status: str, code: int, ago: int) -> str:
    """A run-now delivery of the event, made to have ended with ``status`` ``ago`` minutes
    after a base instant (later ``ago`` values are newer)."""
    async with live.client(service) as api:
        delivery = (await api.post(f"/v1/events/{service}/{key}/trigger")).json()
    when = live.runtime.clock.now() + timedelta(minutes=ago)
    async with live.runtime.store.engine.begin() as connection:
        await connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery["id"])
            .values(
                status=status,
                attempts=1,
                last_status_code=code,
                scheduled_for=when,
                updated_at=when,
                finished_at=when if status in ("dead", "succeeded") else None,
            )
        )
    return str(delivery["id"])


async def _post(
    http: httpx.AsyncClient, page: str, action: str, fields: list[tuple[str, str]]
) -> httpx.Response:
    csrf = csrf_of((await http.get(page)).text)
    content = httpx.QueryParams([("csrf_token", csrf), *fields])
    return await http.post(
        action,
        content=str(content),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def _statuses(live: LiveApp) -> dict[str, str]:
    async with live.runtime.store.engine.connect() as connection:
        rows = await connection.execute(select(events.c.service, events.c.key, events.c.status))
    return {f"{service}/{key}": status for service, key, status in rows}


def _delivery_statuses(html: str) -> list[str]:
    return re.findall(r'data-testid="delivery-row" data-status="(\w+)"', html)


def _rows(html: str) -> list[str]:
    return re.findall(r'data-testid="event-row" data-key="([^"]+)"', html)


async def test_each_event_shows_its_last_result_and_the_failing_filter(live: LiveApp) -> None:
    await _create(live, "alpha", "fine", "broken", "recovered", "fresh")
    await _ran(live, "alpha", "fine", "succeeded", 200, 1)
    await _ran(live, "alpha", "broken", "succeeded", 200, 1)
    await _ran(live, "alpha", "broken", "dead", 503, 2)  # the newer one decides
    await _ran(live, "alpha", "recovered", "dead", 500, 1)
    await _ran(live, "alpha", "recovered", "succeeded", 204, 2)
    await _create(live, "beta", "theirs")
    await _ran(live, "beta", "theirs", "retrying", 500, 1)
    async with browser(live, "alpha") as http:
        everything = (await http.get("/ui/events")).text
        failing = (await http.get("/ui/events", params={"result": "failing"})).text
    cells = dict(
        zip(
            _rows(everything),
            re.findall(r'data-testid="last-result">(.*?)</td>', everything, re.S),
            strict=True,
        )
    )
    assert "succeeded" in cells["fine"] and "HTTP 200" in cells["fine"]
    assert "dead" in cells["broken"] and "HTTP 503" in cells["broken"]
    assert "succeeded" in cells["recovered"] and "HTTP 204" in cells["recovered"]
    assert cells["fresh"] == "—"
    assert _rows(failing) == ["broken"]


async def test_bulk_pause_and_resume_change_only_ones_own_each_audited(live: LiveApp) -> None:
    await _create(live, "alpha", "a", "b", "c")
    await _create(live, "beta", "theirs")
    async with browser(live, "alpha") as http:
        chosen = [("event", "alpha/a"), ("event", "alpha/b"), ("event", "beta/theirs")]
        paused = await _post(http, "/ui/events", "/ui/events/bulk", [("op", "pause"), *chosen])
        shown = await http.get(paused.headers["location"])
        resumed = await _post(
            http, "/ui/events", "/ui/events/bulk", [("op", "resume"), ("event", "alpha/a")]
        )
        no_csrf = await http.post("/ui/events/bulk", data={"op": "pause", "event": "alpha/c"})
        bad_op = await _post(http, "/ui/events", "/ui/events/bulk", [("op", "delete")])
    assert paused.status_code == resumed.status_code == 303
    assert "2 event(s) paused, 1 skipped." in shown.text
    assert no_csrf.status_code == 403 and bad_op.status_code == 422
    assert await _statuses(live) == {
        "alpha/a": "active",
        "alpha/b": "paused",
        "alpha/c": "active",
        "beta/theirs": "active",
    }
    async with live.runtime.store.engine.connect() as connection:
        rows = await connection.execute(
            select(audit_log.c.resource_key, audit_log.c.action, audit_log.c.actor, audit_log.c.via)
            .where(audit_log.c.action.in_(("pause", "resume")))
            .order_by(audit_log.c.id)
        )
        logged = [tuple(row) for row in rows]
    assert logged == [
        ("a", "pause", "alpha", "ui"),
        ("b", "pause", "alpha", "ui"),
        ("a", "resume", "alpha", "ui"),
    ]


async def test_the_audit_page_shows_ones_own_entries_without_secrets(live: LiveApp) -> None:
    await _create(live, "alpha", "mine")
    await _create(live, "beta", "theirs")
    async with browser(live, "alpha") as http:
        await _post(
            http, "/ui/events", "/ui/events/bulk", [("op", "pause"), ("event", "alpha/mine")]
        )
        own = (await http.get("/ui/audit")).text
        events_only = (await http.get("/ui/audit", params={"type": "action"})).text
        foreign = (await http.get("/ui/audit", params={"service": "beta"})).text
    assert re.findall(r'data-testid="audit-entry" data-action="(\w+)"', own) == ["pause", "create"]
    assert "theirs" not in own and "theirs" not in foreign
    assert 'data-testid="no-audit"' in events_only
    assert "t0p" not in own  # X-Token's value is redacted
    assert "status" in own  # what the pause changed
    async with browser(live, "root", admin=True) as http:
        only_beta = (await http.get("/ui/audit", params={"service": "beta"})).text
    assert "theirs" in only_beta and "mine" not in only_beta


async def test_the_deliveries_page_filters_and_redrives_the_chosen_dead(live: LiveApp) -> None:
    await _create(live, "alpha", "a", "b")
    dead = await _ran(live, "alpha", "a", "dead", 500, 1)
    await _ran(live, "alpha", "b", "succeeded", 200, 2)
    await _create(live, "beta", "theirs")
    foreign = await _ran(live, "beta", "theirs", "dead", 500, 1)
    async with browser(live, "alpha") as http:
        every = (await http.get("/ui/deliveries")).text
        only_dead = (await http.get("/ui/deliveries", params={"status": "dead"})).text
        redriven = await _post(
            http,
            "/ui/deliveries?status=dead",
            "/ui/dead-letters/redrive",
            [("id", dead), ("id", foreign), ("back", "/ui/deliveries?status=dead")],
        )
    assert _delivery_statuses(every) == ["succeeded", "dead"]  # newest first
    assert "theirs" not in every and foreign not in every
    assert _delivery_statuses(only_dead) == ["dead"]
    assert dead in only_dead  # its checkbox
    assert redriven.status_code == 303
    assert redriven.headers["location"].startswith("/ui/deliveries?status=dead&")
    assert "count=1" in redriven.headers["location"]
    async with live.runtime.store.engine.connect() as connection:
        statuses = dict(
            (await connection.execute(select(deliveries.c.id, deliveries.c.status))).all()
        )
        redrives = (
            await connection.execute(
                select(audit_log.c.service, audit_log.c.resource_key, audit_log.c.via).where(
                    audit_log.c.action == "redrive"
                )
            )
        ).all()
    assert (statuses[dead], statuses[foreign]) == ("retrying", "dead")
    assert [tuple(row) for row in redrives] == [("alpha", "a", "ui")]
