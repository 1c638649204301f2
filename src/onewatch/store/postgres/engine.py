"""The PostgreSQL engine and the URL its LISTEN connection takes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from onewatch.errors import ConfigurationError
from onewatch.store.database import async_url


def create_postgres_engine(url: URL, **options: Any) -> AsyncEngine:
    """A pooled asyncpg engine; pre-ping, so a connection the server dropped (a restart,
    a failover) is replaced before a statement fails on it."""
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **options)


def libpq_url(plain_url: str) -> str:
    """A PostgreSQL URL as asyncpg (and libpq) take it: ``postgresql://``, no ``+driver``."""
    url = async_url(plain_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("LISTEN/NOTIFY needs a PostgreSQL URL", field="database_url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
