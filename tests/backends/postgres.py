"""Private PostgreSQL databases for tests, created and dropped on a shared server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url

from onewatch.store.postgres.engine import libpq_url

#: Every test database starts with this, so a leftover one is easy to spot.
TEST_DATABASE_PREFIX = "onewatch_t_"


def with_database(plain_url: str, database: str) -> str:
    return make_url(plain_url).set(database=database).render_as_string(hide_password=False)


@asynccontextmanager
async def temporary_database(server_url: str) -> AsyncIterator[str]:
    """Create an empty database beside ``server_url``'s; yield its plain URL; drop it."""
    name = TEST_DATABASE_PREFIX + secrets.token_hex(6)
    admin = await asyncpg.connect(libpq_url(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(libpq_url(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
