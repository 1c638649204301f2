"""An INSERT ... RETURNING of many rows on SQLite in one trip to aiosqlite's thread.

Through SQLAlchemy's async adapter one statement is four trips to aiosqlite's thread
(open a cursor, execute, fetch, close), and each answer comes back through the event
loop, behind whatever requests it is parsing. Under 32 concurrent creates those trips,
not SQLite, were most of a group commit's time. ``OneTripInsert`` sends the statement
SQLAlchemy compiles, one ``VALUES`` group per row as SQLAlchemy's own many-row insert
does, with SQLAlchemy's bind and result processors, through aiosqlite's
``execute_fetchall``: one trip. It runs inside the caller's transaction, on its
connection; PostgreSQL (asyncpg, no thread) keeps SQLAlchemy's path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Insert
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.many import Processor, bind_processor
from onewatch.store.sqlite.driver import sqlite_driver

#: Parameters one SQLite statement may carry (SQLAlchemy assumes the same since 3.32).
MAX_PARAMETERS = 32_766


@dataclass(frozen=True)
class _Plan:
    """The statement for one set of row keys, cut around its one ``VALUES`` group."""

    head: str
    group: str
    tail: str
    #: Per parameter, in order: the row key it comes from and its bind processor.
    binds: tuple[tuple[str, Processor | None], ...]
    #: Per RETURNING column, in order: its name and its result processor.
    results: tuple[tuple[str, Processor | None], ...]

    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.group] * rows) + self.tail


class OneTripInsert:
    """A compiled ``INSERT ... RETURNING`` run for many rows in one statement on SQLite."""

    def __init__(self, statement: Insert, max_parameters: int = MAX_PARAMETERS) -> None:
        self.statement = statement
        self.max_parameters = max_parameters
        self._plans: dict[tuple[str, ...], _Plan] = {}

    async def execute(
        self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The RETURNING rows (rows the statement skipped, e.g. on conflict, are absent)."""
        if not rows:
            return []
        columns = tuple(rows[0])
        plan = self._plans.get(columns)
        if plan is None:
            plan = self._plans[columns] = self._plan(connection.dialect, columns)
        driver = await sqlite_driver(connection)
        found: list[dict[str, Any]] = []
        per_statement = max(1, self.max_parameters // len(plan.binds))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = [
                processor(row[key]) if processor else row[key]
                for row in chunk
                for key, processor in plan.binds
            ]
            for returned in await driver.execute_fetchall(plan.sql(len(chunk)), values):
                found.append(
                    {
                        name: processor(value) if processor else value
                        for (name, processor), value in zip(plan.results, returned, strict=True)
                    }
                )
        return found

    def _plan(self, dialect: Dialect, columns: tuple[str, ...]) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(columns))
        names = compiled.positiontup or []
        binds = tuple(
            (compiled.binds[name].key, bind_processor(compiled.binds[name].type, dialect))
            for name in names
        )
        sql = compiled.string
        start = sql.index(" VALUES (") + len(" VALUES ")
        end = sql.index(")", start) + 1
        group = sql[start:end]
        if group != "(" + ", ".join(["?"] * len(names)) + ")":  # pragma: no cover
            raise RuntimeError(f"unexpected VALUES group from SQLAlchemy: {group!r}")
        results = tuple(
            (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in self.statement.exported_columns
        )
        return _Plan(sql[:start], group, sql[end:], binds, results)
