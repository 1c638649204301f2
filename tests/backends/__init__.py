"""Store backends for tests: one fixture, run once on SQLite and once on PostgreSQL.

``store`` hands each test an opened, migrated, private ``ports.Store`` (``store_url`` its
plain URL; ``store_engine`` its engine, for tests that read rows straight from the
tables): a fresh SQLite file in ``tmp_path``, or a fresh PostgreSQL database created on
the server named by ``ONEWATCH_TEST_POSTGRES_URL`` and dropped afterwards (safe under
``pytest -n 2``, and LISTEN/NOTIFY channels are private to it too). ``blank_store_url``
is the same without the migrations. The postgres case skips, with the reason, when the
variable is unset.

Registered as a plugin by ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bench.moto_server import AWS_ENV_TO_UNSET, MotoServer, aws_env
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store import open_store
from onewatch.store.base import SqlStore
from tests.backends.postgres import temporary_database
from tests.backends.redis_server import RedisServer
from tests.conftest import postgres_url

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres")]


@pytest.fixture(params=BACKENDS)
async def blank_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A plain URL of an empty, private store (no tables yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onewatch.db'}"
        return
    async with temporary_database(postgres_url()) as url:
        yield url


@pytest.fixture
async def store_url(blank_store_url: str) -> str:
    """A plain URL of a private store migrated to the newest revision."""
    store = open_store(blank_store_url)
    try:
        await store.migrate()
    finally:
        await store.dispose()
    return blank_store_url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    """The opened store on ``store_url`` (SQLite or PostgreSQL), disposed after the test."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
def store_engine(store: SqlStore) -> AsyncEngine:
    """The engine under ``store``: for reading and seeding rows straight in the tables."""
    return store.engine


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    """A private, empty PostgreSQL database (for tests of PostgreSQL-only parts)."""
    async with temporary_database(postgres_url()) as url:
        yield url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port that the test may kill and restart."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def moto_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A private moto server (SQS, Lambda) the test may stop, restart and reset, with
    the AWS variables pointing every aiobotocore client at it with dummy credentials."""
    server = MotoServer(host="127.0.0.1")
    server.start()
    for name in AWS_ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(server.endpoint_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: MotoServer) -> Iterator[str]:
    """The endpoint URL of a private moto server (see ``moto_server``)."""
    yield moto_server.endpoint_url
