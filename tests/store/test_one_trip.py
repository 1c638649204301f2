"""OneTripInsert: SQLite's many-row INSERT ... RETURNING gives what SQLAlchemy reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.dialects import sqlite

from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.events import insert_new_events_statement
from onewatch.store.sqlite.one_trip import OneTripInsert
from onewatch.store.transaction import SqlTransaction
from tests.store.test_events import event_values

#: An instant given in another zone: stored as UTC microseconds, read back in UTC.
START = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))


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


async def test_returned_rows_equal_what_the_store_reads_back(store: SqlStore) -> None:
    # On SQLite the store's one-trip insert; on PostgreSQL SQLAlchemy's own path.
    async with store.write() as tx:
        await tx.insert_new_events([event_values("taken")])
    refused = event_values("taken", start_at=None, end_at=None, title="refused: it exists")
    rows = [*_varied(), refused]
    async with store.write() as tx:
        returned = await tx.insert_new_events(rows)
    assert sorted(key for _, key in returned) == ["by-action", "plain", "zoned"]
    async with store.read() as tx:
        for (service, key), row in returned.items():
            stored = await tx.get_event(service, key)
            assert stored is not None
            assert dict(row) == dict(stored), key
    assert returned[("alpha", "zoned")]["start_at"] == START.astimezone(UTC)
    assert returned[("alpha", "by-action")]["target"] is None


async def test_many_rows_are_split_over_statements_under_the_parameter_limit(
    tmp_path: Path,
) -> None:
    # Seventeen columns a row: a limit of 40 parameters puts two rows in each statement.
    one_trip = OneTripInsert(insert_new_events_statement(sqlite.insert), max_parameters=40)
    rows = [event_values(f"k{index}") for index in range(5)]
    store = open_store(f"sqlite:///{tmp_path / 'onewatch.db'}")
    try:
        await store.migrate()
        async with store.write() as tx:
            assert isinstance(tx, SqlTransaction)
            returned = await one_trip.execute(tx.connection, rows)
    finally:
        await store.dispose()
    assert sorted(row["key"] for row in returned) == [f"k{index}" for index in range(5)]
