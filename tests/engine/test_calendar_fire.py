"""The scheduler follows business calendars: a day off does not fire, the next business
day does, and a calendar change moves an event's next fire (the clock is the test's)."""

from __future__ import annotations

from datetime import UTC, datetime

from onewatch.application import calendar_ops, event_ops
from onewatch.application.audit import SYSTEM
from onewatch.domain.documents import CalendarDocument, EventDocument
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import (
    ManualClock,
    Sink,
    deliveries_of,
    event_row,
    make_runtime,
    settings_for,
    wait_for,
)

#: 2030-01-01 is a Tuesday.
START = datetime(2030, 1, 1, 8, 59, 30, tzinfo=UTC)


def _nine(day: int) -> datetime:
    return datetime(2030, 1, day, 9, 0, tzinfo=UTC)


def _event(sink: Sink, pattern: str, rule: str | None = None) -> EventDocument:
    scheduling = {"pattern": pattern, "timezone": "UTC", "calendar": "office"}
    if rule is not None:
        scheduling["nonBusinessDay"] = rule
    return EventDocument.model_validate(
        {
            "key": "report",
            "type": "webhook",
            "webhook": {"endpoint": f"{sink.base}/report"},
            "schedulingPattern": scheduling,
        }
    )


async def _with_event(
    runtime: Runtime, clock: ManualClock, document: EventDocument, exclude: list[str]
) -> tuple[event_ops.EventContext, int]:
    context = event_ops.EventContext(runtime.store, clock, runtime.wakeup.notify)
    office = CalendarDocument.model_validate({"key": "office", "exclude": exclude})
    await calendar_ops.create_calendar(context, "billing", office, actor=SYSTEM)
    written = await event_ops.create_event(context, "billing", document, SYSTEM)
    return context, int(written.row["id"])


async def _fires_at(
    runtime: Runtime, clock: ManualClock, sink: Sink, due: datetime, n: int
) -> None:
    clock.moment = due
    runtime.wakeup.notify()
    await wait_for(lambda: len(sink.received) == n, what=f"fire {n} at {due.isoformat()}")
    assert sink.received[-1].headers["Onewatch-Scheduled-For"] == due.isoformat().replace(
        "+00:00", "Z"
    )


async def test_an_excluded_day_does_not_fire_and_the_next_business_day_does(
    tmp_path, sink: Sink
) -> None:
    clock = ManualClock(START)
    runtime = await make_runtime(settings_for(tmp_path), clock)
    _context, event_id = await _with_event(
        runtime, clock, _event(sink, "0 9 * * *"), ["2030-01-02"]
    )
    await runtime.start(background_roles())
    try:
        await _fires_at(runtime, clock, sink, _nine(1), 1)

        async def advanced() -> bool:
            return (await event_row(runtime.store.engine, event_id))["next_occurrence"] == _nine(3)

        await wait_for(advanced, what="the event to skip the excluded Wednesday")
        await _fires_at(runtime, clock, sink, _nine(3), 2)
        rows = await deliveries_of(runtime.store.engine, event_id)
        assert [row["scheduled_for"] for row in rows] == [_nine(1), _nine(3)]
    finally:
        await runtime.stop()


async def test_next_moves_a_fire_and_a_calendar_change_moves_it_again(tmp_path, sink: Sink) -> None:
    """The 5th of January 2030 is a Saturday: ``next`` fires on Monday the 7th; once the
    calendar excludes the 7th too, on Tuesday the 8th."""
    clock = ManualClock(START)
    runtime = await make_runtime(settings_for(tmp_path), clock)
    document = _event(sink, "0 9 5 * *", rule="next")
    context, event_id = await _with_event(runtime, clock, document, [])
    assert (await event_row(runtime.store.engine, event_id))["next_occurrence"] == _nine(7)
    await runtime.start(background_roles())
    try:
        changed = CalendarDocument.model_validate({"key": "office", "exclude": ["2030-01-07"]})
        await calendar_ops.replace_calendar(context, "billing", changed, actor=SYSTEM)
        event = await event_row(runtime.store.engine, event_id)
        assert event["next_occurrence"] == _nine(8)
        assert event["calendar_rules"]["exclude"] == ["2030-01-07"]
        await _fires_at(runtime, clock, sink, _nine(8), 1)
        rows = await deliveries_of(runtime.store.engine, event_id)
        assert [row["scheduled_for"] for row in rows] == [_nine(8)]
    finally:
        await runtime.stop()
