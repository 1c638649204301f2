"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

#: Integer primary keys: SQLite only makes a rowid alias of ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON documents; JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _refuse_naive(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("naive datetime given where an instant is stored")


def to_epoch_micros(value: datetime | None) -> int | None:
    """An aware instant as whole microseconds since 1970-01-01 UTC (exact, any zone)."""
    if value is None:
        return None
    _refuse_naive(value)
    return (value - EPOCH) // _MICROSECOND


def from_epoch_micros(value: int | None) -> datetime | None:
    """Microseconds since the epoch as an aware UTC instant."""
    if value is None:
        return None
    return EPOCH + timedelta(microseconds=value)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None:
        _refuse_naive(value)
    return value


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always aware UTC in Python; refuses naive values on the way in.

    PostgreSQL stores ``timestamptz`` and asyncpg hands back aware UTC values, so only
    the naive check runs there. SQLite has no instant type: it stores whole microseconds
    since the epoch as an integer (migration 0004 rewrote the older text form). The
    column keeps its declared ``DATETIME`` type, whose NUMERIC affinity stores integers
    as integers, so SQL comparisons and indexes order instants correctly. An integer
    takes 8 bytes where the text took 26, and converting it is one C-level operation
    instead of formatting and parsing text: this type sits on every hot statement.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    # The processors are given directly (not through process_bind_param and the impl's
    # own processor): one plain function call per value on the hot paths.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        return to_epoch_micros if dialect.name == "sqlite" else _aware

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        return from_epoch_micros if dialect.name == "sqlite" else None

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """What the processors above do, for SQLAlchemy's literal rendering."""
        return to_epoch_micros(value) if dialect.name == "sqlite" else _aware(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return from_epoch_micros(value) if dialect.name == "sqlite" else value
