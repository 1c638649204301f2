"""Group commit: concurrent writes share one transaction, each answered once it commits.

Thirty-two clients creating events one transaction each spend most of their time
queueing for SQLite's single writer (on PostgreSQL, for one commit flush each): a begin,
a few statements and a commit per request. Here the first submitter starts a flush; every
job submitted until that flush holds the write turn joins the same transaction, and each
submitter's answer is given only after the transaction committed, so an acknowledgement
still means stored. A job's own refusal (a conflict, a validation error) is that job's
answer and does not stop the others; a batch that fails as a whole (a database error) is
retried job by job in a transaction each, so one bad job cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.store.transactions import write_transaction

Job = TypeVar("Job")
Result = TypeVar("Result")

#: A bound on one transaction's size, so one flush never holds the writer for long.
MAX_BATCH = 256


class GroupCommit(Generic[Job, Result]):
    """Batches concurrent ``submit`` calls on one engine into shared transactions.

    It holds no reference to the engine between flushes, so one kept per engine in a
    ``WeakKeyDictionary`` goes away with its engine.
    """

    def __init__(
        self,
        # Does the jobs inside the open transaction: one result or refusal per job, in order.
        apply: Callable[[AsyncConnection, Sequence[Job]], Awaitable[Sequence[Result | Exception]]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.apply = apply
        self.max_batch = max_batch
        self._pending: list[tuple[Job, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, engine: AsyncEngine, job: Job) -> Result:
        """Do ``job`` in the next shared transaction; return after that transaction commits."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._flusher is None:
            flush = self._flush_all(engine)
            self._flusher = asyncio.create_task(flush, name="onewatch-group-commit")
        return await future

    async def _flush_all(self, engine: AsyncEngine) -> None:
        try:
            while self._pending:
                await self._flush_one(engine)
        finally:
            self._flusher = None

    def _take(self) -> list[tuple[Job, asyncio.Future[Result]]]:
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        return batch

    async def _flush_one(self, engine: AsyncEngine) -> None:
        batch: list[tuple[Job, asyncio.Future[Result]]] = []
        try:
            async with write_transaction(engine) as connection:
                # Taken once the write turn is held: whatever queued meanwhile joins in.
                batch = self._take()
                outcomes = await self.apply(connection, [job for job, _ in batch])
        except Exception as exc:
            # Failed before the batch was taken (no connection): these jobs fail alone.
            batch = batch or self._take()
            if len(batch) == 1:
                _answer(batch[0][1], exc)
            else:
                await self._one_by_one(engine, batch)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _answer(future, outcome)

    async def _one_by_one(
        self, engine: AsyncEngine, batch: list[tuple[Job, asyncio.Future[Result]]]
    ) -> None:
        """After a failed batch: each job alone, so only a job that fails by itself fails."""
        for job, future in batch:
            outcome: Result | Exception
            try:
                async with write_transaction(engine) as connection:
                    (outcome,) = await self.apply(connection, [job])
            except Exception as exc:
                outcome = exc
            _answer(future, outcome)


def _answer(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():  # the submitter went away (cancelled); the work stands
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
