"""Recurring events over several fires: separation, maxOccurrences, and run-now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import (
    ManualClock,
    Sink,
    add_delivery,
    add_event,
    deliveries_of,
    event_row,
    make_runtime,
    settings_for,
    wait_for,
)

START = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)


def _minute(n: int) -> datetime:
    return datetime(2030, 1, 1, 0, n, tzinfo=UTC)


async def test_separation_and_max_occurrences_over_several_fires(tmp_path, sink: Sink) -> None:
    clock = ManualClock(START)
    runtime = await make_runtime(settings_for(tmp_path), clock)
    event_id = await add_event(
        runtime.store.engine,
        key="every-other-minute",
        pattern="* * * * *",
        target_type="webhook",
        target={"endpoint": f"{sink.base}/tick"},
        separation=2,
        max_occurrences=3,
        after=clock.now(),
        now=clock.now(),
    )
    await runtime.start(background_roles())
    try:
        expected = [_minute(1), _minute(3), _minute(5)]
        for index, due in enumerate(expected):
            clock.moment = due
            runtime.wakeup.notify()
            await wait_for(lambda n=index + 1: len(sink.received) == n, what=f"fire {index + 1}")
            header = sink.received[-1].headers["Onewatch-Scheduled-For"]
            assert header == due.isoformat().replace("+00:00", "Z")

            async def advanced(count: int = index + 1) -> bool:
                return (await event_row(runtime.store.engine, event_id))["occurrences"] == count

            await wait_for(advanced, what="the event to advance")
            event = await event_row(runtime.store.engine, event_id)
            if index < 2:
                assert event["next_occurrence"] == expected[index + 1]
                assert event["status"] == "active"
        event = await event_row(runtime.store.engine, event_id)
        assert event["status"] == "completed"
        assert event["next_occurrence"] is None
        rows = await deliveries_of(runtime.store.engine, event_id)
        assert [row["scheduled_for"] for row in rows] == expected
    finally:
        await runtime.stop()


async def test_run_now_adds_a_delivery_without_moving_the_schedule(
    running: Runtime, sink: Sink
) -> None:
    now = datetime.now(UTC)
    event_id = await add_event(
        running.store.engine,
        key="monthly",
        pattern="0 1 15 * *",
        target_type="webhook",
        target={"endpoint": f"{sink.base}/monthly"},
        max_occurrences=1,
        after=now,
    )
    before = await event_row(running.store.engine, event_id)
    await add_delivery(
        running.store.engine,
        ident="msg_manual_1",
        event_id=event_id,
        event_key="monthly",
        due=now,
        kind="manual",
    )
    running.dispatch_wakeup.notify()
    await wait_for(lambda: len(sink.received) == 1, what="the manual delivery")
    assert sink.received[0].headers["webhook-id"] == "msg_manual_1"
    after = await event_row(running.store.engine, event_id)
    assert after["next_occurrence"] == before["next_occurrence"]
    assert after["occurrences"] == 0
    assert after["status"] == "active"
    assert after["next_occurrence"] > now + timedelta(seconds=1)
