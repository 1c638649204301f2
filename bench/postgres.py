"""PostgreSQL databases for the benchmark: a prepared template, a copy per run.

``CREATE DATABASE ... TEMPLATE`` copies a prepared store in seconds, so each run starts
from the same million rows without inserting them again. Every database made here is
named ``onewatch_bench_*`` and dropped when the suite ends.
"""

from __future__ import annotations

import asyncio
import os
import re

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

#: The server and the database to connect to for administration.
ADMIN_URL = os.environ.get("ONEWATCH_BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
PREFIX = "onewatch_bench_"


def database_name(label: str) -> str:
    return PREFIX + re.sub(r"[^a-z0-9_]", "_", label.lower())[:40]


def url_for(name: str) -> str:
    """The plain URL of database ``name`` on the admin URL's server."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create(name: str, template: str | None = None) -> str:
    """A fresh database (a copy of ``template`` when given); returns its URL."""
    drop(name)
    clause = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_admin(f'CREATE DATABASE "{name}"{clause}'))
    return url_for(name)


def drop(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _size(name: str) -> int:
    connection = await asyncpg.connect(url_for(name))
    try:
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


def size_bytes(name: str) -> int:
    return asyncio.run(_size(name))
