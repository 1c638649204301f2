"""ManyRows: one driver executemany (each store's ``execute_many``), SQLAlchemy's SQL and
conversions, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, update

from onewatch.store.base import SqlStore
from onewatch.store.many import ManyRows
from onewatch.store.schema import events
from tests.store.test_events import event_values

LATER = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))

#: A bound row value (b_next), a literal in the statement ('active'), an expression.
_MOVE = ManyRows(
    update(events)
    .where(events.c.key == bindparam("b_key"), events.c.status == "active")
    .values(next_occurrence=bindparam("b_next"), version=events.c.version + 1)
)


async def test_rows_are_bound_in_order_with_literals_and_conversions(store: SqlStore) -> None:
    async with store.write() as tx:
        await tx.insert_new_events(
            [event_values("a"), event_values("b"), event_values("c", status="paused")]
        )
        rows = [{"b_key": key, "b_next": LATER} for key in ("a", "c", "missing")]
        changed = await store.execute_many(tx.connection, _MOVE, rows)
    # "c" is paused, "missing" does not exist. asyncpg reports no count for a batch (-1),
    # as with SQLAlchemy's own executemany; the store's callers handle both.
    expected = 1 if store.engine.dialect.supports_sane_multi_rowcount else -1
    assert changed == expected
    query = select(events.c.key, events.c.next_occurrence, events.c.version).order_by(events.c.key)
    async with store.engine.connect() as connection:
        stored = [tuple(row) for row in await connection.execute(query)]
    original = event_values()["next_occurrence"]
    assert stored == [
        ("a", LATER.astimezone(UTC), 2),
        ("b", original, 1),
        ("c", original, 1),
    ]


async def test_naive_instants_are_still_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        async with store.write() as tx:
            naive = [{"b_key": "a", "b_next": datetime(2031, 1, 1)}]
            await store.execute_many(tx.connection, _MOVE, naive)
