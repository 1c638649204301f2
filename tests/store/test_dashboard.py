"""The overview's grouped query of active schedules, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from onewatch.store.base import SqlStore
from tests.store.test_events import NOW, event_values


async def _insert(store: SqlStore, *rows: dict[str, Any]) -> None:
    async with store.write() as tx:
        for row in rows:
            await tx.insert_event(row)


async def test_events_that_fire_together_are_one_group(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=1)
    await _insert(
        store,
        # Three alike, though each has fired a different number of times (no limit).
        *[event_values(f"same{n}", occurrences=n) for n in range(3)],
        event_values("other-next", next_occurrence=later),
        # With a limit, what is left of it tells them apart.
        event_values("limited-a", max_occurrences=5, occurrences=1),
        event_values("limited-b", max_occurrences=5, occurrences=2),
        event_values("paused", status="paused"),
        event_values("beyond", next_occurrence=NOW + timedelta(days=2)),
        event_values("theirs", service="beta"),
    )
    async with store.read() as tx:
        groups = await tx.active_schedules_due_by("alpha", NOW + timedelta(1))
    found = sorted(
        (row["events"], row["next_occurrence"], row["max_occurrences"], row["occurrences"])
        for row in groups
    )
    assert found == [(1, NOW, 5, 1), (1, NOW, 5, 2), (1, later, None, 0), (3, NOW, None, 0)]
    assert groups[0]["events"] == 3  # the most populous first
