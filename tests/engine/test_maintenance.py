"""History older than the retention is pruned; finished work inside it is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from onewatch.engine.maintenance import prune_once
from onewatch.store.schema import deliveries
from tests.engine.support import (
    ManualClock,
    add_delivery,
    add_event,
    make_runtime,
    rows,
    settings_for,
)

NOW = datetime(2030, 6, 1, tzinfo=UTC)


async def test_prune_keeps_the_retention_window_and_unfinished_work(tmp_path: Path) -> None:
    runtime = await make_runtime(settings_for(tmp_path, history_retention_days=7), ManualClock(NOW))
    try:
        event_id = await add_event(
            runtime.store.engine,
            key="daily",
            pattern="0 1 * * *",
            target_type="webhook",
            target={"endpoint": "http://127.0.0.1:9/"},
            now=NOW,
        )
        ages = {"old-done": (30, True), "new-done": (1, True), "old-pending": (31, False)}
        for ident, (days, finished) in ages.items():
            moment = NOW - timedelta(days=days)
            await add_delivery(
                runtime.store.engine,
                ident=ident,
                event_id=event_id,
                event_key="daily",
                due=moment,
                status="succeeded" if finished else "pending",
                finished_at=moment if finished else None,
            )
        assert await prune_once(runtime) == 1
        assert {row["id"] for row in await rows(runtime.store.engine, deliveries)} == {
            "new-done",
            "old-pending",
        }
    finally:
        await runtime.stop()
