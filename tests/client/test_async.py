"""``AsyncClient`` against a real ``onewatch serve`` process: every method, once each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onewatch.client import AsyncClient, Conflict, Delivery, InvalidRequest, NotFound
from tests.client.documents import event, inline_event, webhook_action
from tests.support.server_process import ServerProcess, Target
from tests.support.waiting import wait_for

DEADLINE = 30.0


async def _settled(onewatch: AsyncClient, delivery_id: str, status: str) -> Delivery:
    async def reached() -> bool:
        return (await onewatch.deliveries.get(delivery_id)).status == status

    await wait_for(reached, seconds=DEADLINE)
    return await onewatch.deliveries.get(delivery_id)


async def test_actions(server: ServerProcess, target: Target) -> None:
    async with AsyncClient(server.base_url, server.token("a-actions")) as onewatch:
        made = await onewatch.actions.create(webhook_action("a1", target.url()))
        assert (await onewatch.actions.upsert(webhook_action("a1", target.url()))).id == made.id
        assert (await onewatch.actions.update("a1", {"payload": {"n": 2}})).payload == {"n": 2}
        assert (await onewatch.actions.get("a1")).payload == {"n": 2}
        await onewatch.actions.upsert(webhook_action("a2", target.url()))
        assert [a.key async for a in onewatch.actions.list(page_size=1)] == ["a1", "a2"]
        page = await onewatch.actions.page(limit=1)
        assert [a.key for a in page.items] == ["a1"] and page.next_cursor
        await onewatch.actions.delete("a2")
        with pytest.raises(NotFound):
            await onewatch.actions.get("a2")


async def test_events_and_deliveries(server: ServerProcess, target: Target) -> None:
    async with AsyncClient(server.base_url, server.token("a-events")) as onewatch:
        await onewatch.actions.create(webhook_action("hook", target.url()))
        made = await onewatch.events.create(event("e1", "hook"))
        with pytest.raises(Conflict):
            await onewatch.events.create(event("e1", "hook"))
        assert (await onewatch.events.upsert(event("e1", "hook"))).updated_at == made.updated_at
        assert (await onewatch.events.update("e1", {"title": "T"})).title == "T"
        assert (await onewatch.events.get("e1")).title == "T"
        assert (await onewatch.events.pause("e1")).status == "paused"
        assert (await onewatch.events.resume("e1")).status == "active"
        await onewatch.events.upsert(event("e2", "hook"))
        assert [e.key async for e in onewatch.events.list(page_size=1)] == ["e1", "e2"]
        assert (await onewatch.events.page(status="active", limit=1)).next_cursor

        fired = await onewatch.events.trigger("e1")
        assert (await _settled(onewatch, fired.id, "succeeded")).attempt_count == 1
        assert [d.id async for d in onewatch.deliveries.list(event="e1")] == [fired.id]
        assert [d.id for d in (await onewatch.deliveries.page(event="e1")).items] == [fired.id]

        await onewatch.events.create(inline_event("failing", target.url(400)))
        failed = await onewatch.events.trigger("failing")
        await _settled(onewatch, failed.id, "dead")
        assert (await onewatch.deliveries.redrive(failed.id)).id == failed.id
        await onewatch.events.delete("e2")
        with pytest.raises(NotFound):
            await onewatch.events.get("e2")


async def test_preview_and_errors(server: ServerProcess) -> None:
    async with AsyncClient(server.base_url, server.token("a-errors")) as onewatch:
        preview = await onewatch.events.preview(
            {"pattern": "@daily", "timezone": "UTC"},
            count=1,
            after=datetime(2030, 1, 1, tzinfo=UTC),
        )
        assert preview.next_fires == [datetime(2030, 1, 2, tzinfo=UTC)]
        with pytest.raises(InvalidRequest) as refused:
            await onewatch.events.preview({"pattern": "* * *"}, count=1)
        assert refused.value.field == "schedulingPattern.pattern"


async def test_calendars(server: ServerProcess) -> None:
    async with AsyncClient(server.base_url, server.token("a-calendars")) as onewatch:
        made = await onewatch.calendars.create({"key": "c1", "exclude": ["2031-01-02"]})
        assert made.exclude[0].isoformat() == "2031-01-02"
        with pytest.raises(Conflict):
            await onewatch.calendars.create({"key": "c1"})
        changed = await onewatch.calendars.upsert({"key": "c1", "holidays": {"country": "de"}})
        assert changed.holidays is not None and changed.holidays.country == "DE"
        assert await onewatch.calendars.get("c1") == changed
        await onewatch.calendars.upsert({"key": "c2"})
        assert [c.key async for c in onewatch.calendars.list(page_size=1)] == ["c1", "c2"]
        page = await onewatch.calendars.page(limit=1)
        assert [c.key for c in page.items] == ["c1"] and page.next_cursor
        await onewatch.calendars.delete("c2")
        with pytest.raises(NotFound):
            await onewatch.calendars.get("c2")
