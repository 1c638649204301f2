"""Small helpers shared by the query modules: unique violations and SQL NULL in JSON columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, null
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON


def is_unique_violation(exc: IntegrityError) -> bool:
    """True for a duplicate key (SQLite's and asyncpg's wording), not a failed check."""
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


def sql_nulls(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``None`` in a JSON column means SQL NULL (not the JSON text ``null``)."""
    json_columns = {
        column.name
        for column in table.columns
        if isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON)
    }
    return {
        name: null() if value is None and name in json_columns else value
        for name, value in values.items()
    }
