"""``client.audit`` against a real ``onewatch serve`` process: each service reads its own
entries only, newest first, page after page, narrowed by the filters the API has."""

from __future__ import annotations

from datetime import datetime

import pytest

from onewatch.client import AsyncClient, AuditEntry, Client, InvalidRequest, PermissionDenied
from tests.client.documents import event, webhook_action
from tests.support.server_process import ServerProcess, Target


def _changes(onewatch: Client, endpoint: str) -> None:
    """Five audited changes: an action, a calendar created then changed, an event, a pause."""
    onewatch.actions.upsert(webhook_action("hook", endpoint))
    onewatch.calendars.upsert({"key": "cal", "weekend": ["SAT", "SUN"]})
    onewatch.calendars.upsert({"key": "cal", "weekend": ["FRI", "SAT"]})
    onewatch.calendars.upsert({"key": "cal", "weekend": ["FRI", "SAT"]})  # no change, no entry
    onewatch.events.upsert(event("report", "hook"))
    onewatch.events.pause("report")


def _summary(entries: list[AuditEntry]) -> list[tuple[str, str, str]]:
    return [(entry.resource_type, entry.key, entry.action) for entry in entries]


def test_a_service_reads_its_own_entries_newest_first(
    server: ServerProcess, target: Target
) -> None:
    with (
        Client(server.base_url, server.token("audit-a")) as mine,
        Client(server.base_url, server.token("audit-b")) as theirs,
    ):
        _changes(mine, target.url())
        theirs.actions.upsert(webhook_action("their-hook", target.url()))

        entries = list(mine.audit.list())
        assert _summary(entries) == [
            ("event", "report", "pause"),
            ("event", "report", "create"),
            ("calendar", "cal", "update"),
            ("calendar", "cal", "create"),
            ("action", "hook", "create"),
        ]
        assert {entry.service for entry in entries} == {"audit-a"}
        assert entries[0].actor.subject == "audit-a" and entries[0].actor.via == "api"
        update = entries[2]
        assert update.before is not None and update.before["weekend"] == ["SAT", "SUN"]
        assert update.after is not None and update.after["weekend"] == ["FRI", "SAT"]
        assert [e.key for e in theirs.audit.list()] == ["their-hook"]
        with pytest.raises(PermissionDenied):
            list(mine.audit.list(service="audit-b"))

        with Client(server.base_url, server.token("ops", admin=True)) as admin:
            assert _summary(list(admin.audit.list(service="audit-b"))) == [
                ("action", "their-hook", "create")
            ]
            seen = {entry.service for entry in admin.audit.list()}
            assert {"audit-a", "audit-b"} <= seen


def test_pages_filters_and_a_refused_filter(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("audit-pages")) as onewatch:
        _changes(onewatch, target.url())
        everything = list(onewatch.audit.list())

        first = onewatch.audit.page(limit=2)
        assert [e.id for e in first.items] == [e.id for e in everything[:2]]
        assert first.next_cursor is not None
        second = onewatch.audit.page(first.next_cursor, limit=2)
        assert [e.id for e in second.items] == [e.id for e in everything[2:4]]
        assert [e.id for e in onewatch.audit.list(page_size=2)] == [e.id for e in everything]

        calendars = list(onewatch.audit.list(resource_type="calendar"))
        assert _summary(calendars) == [("calendar", "cal", "update"), ("calendar", "cal", "create")]
        assert _summary(list(onewatch.audit.list(key="hook"))) == [("action", "hook", "create")]
        newest = everything[0].at
        assert [e.id for e in onewatch.audit.list(since=newest)] == [
            e.id for e in everything if e.at >= newest
        ]
        assert all(e.at < newest for e in onewatch.audit.list(until=newest))

        with pytest.raises(InvalidRequest) as naive:
            onewatch.audit.page(since=datetime(2030, 1, 1))  # no time zone
        assert naive.value.field == "since"


async def test_the_async_client_reads_the_same_entries(
    server: ServerProcess, target: Target
) -> None:
    with Client(server.base_url, server.token("audit-async")) as blocking:
        _changes(blocking, target.url())
        expected = [e.id for e in blocking.audit.list()]
    async with AsyncClient(server.base_url, server.token("audit-async")) as onewatch:
        assert [e.id async for e in onewatch.audit.list(page_size=2)] == expected
        page = await onewatch.audit.page(limit=3, resource_type="event")
        assert _summary(page.items) == [("event", "report", "pause"), ("event", "report", "create")]
        assert page.next_cursor is None
