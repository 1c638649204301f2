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
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

from onewatch.ports import BatchApply, StoreTransaction

Job = TypeVar("Job")
Result = TypeVar("Result")

#: A bound on one transaction's size, so one flush never holds the writer for long.
MAX_BATCH = 256


class GroupCommit(Generic[Job, Result]):
    """Batches concurrent ``submit`` calls into shared transactions (``ports.GroupCommit``).

    A store keeps one per ``apply`` (``Store.group_commit``), so every caller of the same
    kind of job joins the same flushes.
    """

    def __init__(
        self,
        # Does the jobs inside the open transaction: one result or refusal per job, in order.
        apply: BatchApply[Job, Result],
        # The store's write transaction (``Store.write``).
        write: Callable[[], AbstractAsyncContextManager[StoreTransaction]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.apply = apply
        self.write = write
        self.max_batch = max_batch
        self._pending: list[tuple[Job, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, job: Job) -> Result:
        """Do ``job`` in the next shared transaction; return after that transaction commits."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._flusher is None:
            flush = self._flush_all()
            self._flusher = asyncio.create_task(flush, name="onewatch-group-commit")
        return await future

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                await self._flush_one()
        finally:
            self._flusher = None

    def _take(self) -> list[tuple[Job, asyncio.Future[Result]]]:
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        return batch

    async def _flush_one(self) -> None:
        batch: list[tuple[Job, asyncio.Future[Result]]] = []
        try:
            async with self.write() as transaction:
                # Taken once the write turn is held: whatever queued meanwhile joins in.
                batch = self._take()
                outcomes = await self.apply(transaction, [job for job, _ in batch])
        except Exception as exc:
            # Failed before the batch was taken (no connection): these jobs fail alone.
            batch = batch or self._take()
            if len(batch) == 1:
                _answer(batch[0][1], exc)
            else:
                await self._one_by_one(batch)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _answer(future, outcome)

    async def _one_by_one(self, batch: list[tuple[Job, asyncio.Future[Result]]]) -> None:
        """After a failed batch: each job alone, so only a job that fails by itself fails."""
        for job, future in batch:
            outcome: Result | Exception
            try:
                async with self.write() as transaction:
                    (outcome,) = await self.apply(transaction, [job])
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
