"""Group commit: concurrent writes share a transaction, each answered only once committed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from onewatch.errors import Conflict, ValidationFailed
from onewatch.store.base import SqlStore
from onewatch.store.group_commit import GroupCommit
from onewatch.store.schema import events
from onewatch.store.transaction import SqlTransaction
from tests.store.test_events import event_values


async def _stored(store: SqlStore, key: str) -> bool:
    """Whether another connection sees the event: committed, not merely written."""
    query = select(func.count()).select_from(events).where(events.c.key == key)
    async with store.engine.connect() as connection:
        return (await connection.execute(query)).scalar_one() == 1


class Recorder:
    """An ``apply`` that inserts events; a key "bad" is refused, "boom" breaks the batch."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.batches: list[list[str]] = []
        #: For each answer: did a separate connection already see the row then?
        self.committed_when_answered: dict[str, bool] = {}

    async def apply(self, tx: SqlTransaction, keys: Sequence[str]) -> list[Any]:
        self.batches.append(list(keys))
        if "boom" in keys:
            # A database error: the unique key breaks the statement, and the transaction.
            await tx.connection.execute(events.insert(), [event_values("taken")])
        outcomes: list[Any] = []
        for key in keys:
            if key == "bad":
                outcomes.append(ValidationFailed("refused", field="key"))
                continue
            rows = await tx.insert_new_events([event_values(key)])
            outcomes.append(key if rows else Conflict(f"{key} exists"))
        return outcomes

    async def submit(self, batcher: GroupCommit[str, str], key: str) -> str:
        answer = await batcher.submit(key)
        self.committed_when_answered[key] = await _stored(self.store, key)
        return answer


async def test_writes_queued_behind_the_writer_share_one_transaction(store: SqlStore) -> None:
    recorder = Recorder(store)
    batcher: GroupCommit[str, str] = GroupCommit(recorder.apply, store.write)
    keys = [f"k{index}" for index in range(20)]
    # The first submitter starts the flush, the rest queue while its transaction runs.
    answers = await asyncio.gather(*(recorder.submit(batcher, key) for key in keys))
    assert answers == keys
    assert sorted(key for batch in recorder.batches for key in batch) == sorted(keys)
    assert len(recorder.batches) < len(keys)
    assert all(recorder.committed_when_answered.values())


async def test_one_refusal_does_not_stop_the_others(store: SqlStore) -> None:
    recorder = Recorder(store)
    batcher: GroupCommit[str, str] = GroupCommit(recorder.apply, store.write)
    async with store.write() as tx:
        await tx.insert_new_events([event_values("old")])
    results = await asyncio.gather(
        *(batcher.submit(key) for key in ("a", "bad", "old", "b")), return_exceptions=True
    )
    assert results[0] == "a" and results[3] == "b"
    assert isinstance(results[1], ValidationFailed)
    assert isinstance(results[2], Conflict)
    assert await _stored(store, "a") and await _stored(store, "b")
    assert not await _stored(store, "bad")


async def test_a_batch_that_fails_whole_is_retried_job_by_job(store: SqlStore) -> None:
    recorder = Recorder(store)
    batcher: GroupCommit[str, str] = GroupCommit(recorder.apply, store.write)
    async with store.write() as tx:
        await tx.insert_new_events([event_values("taken")])
    # Held write turn on SQLite / a slow first flush: all four land in one batch.
    results = await asyncio.gather(
        *(batcher.submit(key) for key in ("x", "boom", "y", "z")), return_exceptions=True
    )
    assert [results[0], results[2], results[3]] == ["x", "y", "z"]
    assert isinstance(results[1], Exception)
    for key in ("x", "y", "z"):
        assert await _stored(store, key)
    assert recorder.batches[-4:] == [["x"], ["boom"], ["y"], ["z"]]
