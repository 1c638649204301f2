"""One statement for many rows, without SQLAlchemy's per-row parameter bookkeeping.

SQLAlchemy's executemany builds a dictionary of every parameter for every row and looks
up each value's bind processor again (a fifth of the CPU of the store's hot path: the
scheduler's advances and delivery inserts, the recorder's updates and attempt rows). A
``ManyRows`` compiles its statement once per dialect, remembers the positional order of
its parameters with the bind processor SQLAlchemy would apply to each, and turns every
row into a tuple in that order for the driver's executemany. The SQL text and the value
conversions are SQLAlchemy's own, so both backends behave exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Parameter:
    #: The row key it comes from; None for a constant written in the statement.
    key: str | None
    processor: Processor | None
    #: The constant's value, already processed (when ``key`` is None).
    constant: Any = None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: tuple[_Parameter, ...]


def bind_processor(type_: Any, dialect: Dialect) -> Processor | None:
    """The conversion SQLAlchemy applies to a value of ``type_`` before the driver."""
    processor: Processor | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


class ManyRows:
    """An INSERT or UPDATE executed for many parameter rows at once."""

    def __init__(self, statement: UpdateBase, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        #: For an INSERT without ``values()``: the columns every row gives, in order.
        self.columns = list(columns) if columns is not None else None
        self._by_dialect: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
        parameters = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            processor = bind_processor(bind.type, dialect)
            if bind.required:  # given by each row, under the bind's key
                parameters.append(_Parameter(bind.key, processor))
                continue
            # A literal written in the statement (``status = 'running'``), bound as given.
            value = bind.effective_value
            parameters.append(_Parameter(None, None, processor(value) if processor else value))
        return _Compiled(compiled.string, tuple(parameters))

    def compiled(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        found = self._by_dialect.get(key)
        if found is None:
            found = self._by_dialect[key] = self._compile(dialect)
        return found

    def parameters(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The SQL text and one positional tuple per row, as the driver's executemany takes."""
        compiled = self.compiled(dialect)
        plan = [(p.key, p.processor, p.constant) for p in compiled.parameters]
        values = [
            tuple(
                [
                    constant if key is None else (processor(row[key]) if processor else row[key])
                    for key, processor, constant in plan
                ]
            )
            for row in rows
        ]
        return compiled.sql, values

    async def execute(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement once per row (one driver executemany); the rows it changed in
        all (-1 where the driver does not count a batch: asyncpg). A store may send the
        same ``parameters`` its own faster way (``SqliteStore.execute_many``)."""
        sql, values = self.parameters(connection.dialect, rows)
        return int((await connection.exec_driver_sql(sql, values)).rowcount)
