"""The overview's grouped query of active schedules, on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store import dashboard
from onewatch.store import events as store
from onewatch.store.transactions import read_connection, write_transaction
from tests.store.test_events import NOW, event_values
from tests.support.databases import BACKENDS, migrated_engine


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(request.param, tmp_path) as engine:
        yield engine


async def _insert(engine: AsyncEngine, *rows: dict[str, Any]) -> None:
    async with write_transaction(engine) as connection:
        for row in rows:
            await store.insert_event(connection, row)


async def test_events_that_fire_together_are_one_group(engine: AsyncEngine) -> None:
    later = NOW + timedelta(minutes=1)
    await _insert(
        engine,
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
    async with read_connection(engine) as connection:
        groups = await dashboard.active_schedules_due_by(connection, "alpha", NOW + timedelta(1))
    found = sorted(
        (row["events"], row["next_occurrence"], row["max_occurrences"], row["occurrences"])
        for row in groups
    )
    assert found == [(1, NOW, 5, 1), (1, NOW, 5, 2), (1, later, None, 0), (3, NOW, None, 0)]
    assert groups[0]["events"] == 3  # the most populous first
