"""OneTripInsert: SQLite's many-row INSERT ... RETURNING gives what SQLAlchemy reads back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store import events as store
from onewatch.store.one_trip import OneTripInsert
from onewatch.store.transactions import write_transaction
from tests.store.test_events import event_values
from tests.support.databases import BACKENDS, migrated_engine

#: An instant given in another zone: stored as UTC microseconds, read back in UTC.
START = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def _varied() -> list[dict[str, object]]:
    """Rows exercising each conversion: JSON documents and SQL NULLs, instants, counts.

    Every row gives the same columns (as a batch of creates does): the first row's
    columns make the statement, as in SQLAlchemy's executemany.
    """
    window = {"start_at": None, "end_at": None}
    return [
        event_values("plain", **window),
        event_values("zoned", **(window | {"start_at": START}), title="Zoned"),
        event_values(
            "by-action",
            **window,
            action_key="act",
            target_type=None,
            target=None,
            params={"url": {"id": 7}, "body": {"nested": [1, 2.5, None]}, "header": {}},
            retry_policy={"maxAttempts": 3},
        ),
    ]


async def test_returned_rows_equal_what_the_store_reads_back(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as connection:
        await store.insert_new_events(connection, [event_values("taken")])
    refused = event_values("taken", start_at=None, end_at=None, title="refused: it exists")
    rows = [*_varied(), refused]
    async with write_transaction(engine) as connection:
        returned = await store.insert_new_events(connection, rows)
    assert sorted(key for _, key in returned) == ["by-action", "plain", "zoned"]
    async with engine.connect() as connection:
        for (service, key), row in returned.items():
            stored = await store.get_event(connection, service, key)
            assert stored is not None
            assert dict(row) == dict(stored), key
    assert returned[("alpha", "zoned")]["start_at"] == START.astimezone(UTC)
    assert returned[("alpha", "by-action")]["target"] is None


async def test_many_rows_are_split_over_statements_under_the_parameter_limit(
    tmp_path: Path,
) -> None:
    # Seventeen columns a row: a limit of 40 parameters puts two rows in each statement.
    one_trip = OneTripInsert(store._INSERT_NEW_EVENTS["sqlite"], max_parameters=40)
    rows = [event_values(f"k{index}") for index in range(5)]
    async with (
        migrated_engine("sqlite", tmp_path) as engine,
        write_transaction(engine) as connection,
    ):
        returned = await one_trip.execute(connection, rows)
    assert sorted(row["key"] for row in returned) == [f"k{index}" for index in range(5)]
