"""A fresh, migrated store per test: a SQLite file, or a new PostgreSQL database.

PostgreSQL runs when ``ONEWATCH_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it) and is
skipped otherwise; each test gets its own database, so parallel workers never collide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from onewatch.store import open_store
from onewatch.store.base import SqlStore
from tests.conftest import postgres_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def fresh_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A plain URL of an empty database, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'onewatch.db'}"
        return
    server = postgres_url()
    name = f"onewatch_test_{uuid4().hex[:16]}"
    admin = open_store(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@asynccontextmanager
async def migrated_store(backend: str, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A fresh, migrated store (``open_store``), disposed afterwards."""
    async with fresh_database_url(backend, tmp_path) as url:
        store = open_store(url)
        try:
            await store.migrate()
            yield store
        finally:
            await store.dispose()
