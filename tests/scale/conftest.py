"""Clean-up and the cluster fixtures shared by the scale tests (a module may define its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bench.sink import SinkProcess
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.settings import Settings
from onewatch.store import open_store
from tests.scale.cluster import kill_leftovers, start_sink


@pytest.fixture(autouse=True)
def _no_node_outlives_its_test() -> Iterator[None]:
    # A test that fails between starting nodes and stopping them would leave worker
    # processes running against a dropped database, loading the machine for the rest.
    yield
    kill_leftovers()


@pytest.fixture
async def shared_engine(postgres_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated private PostgreSQL database the nodes share (the test reads its rows)."""
    store = open_store(postgres_database_url)
    await store.migrate()
    try:
        yield store.engine
    finally:
        await store.dispose()


@pytest.fixture
def settings(postgres_database_url: str, tmp_path: Path) -> Settings:
    """One data folder for every node, its keys made once so the nodes do not race."""
    data = tmp_path / "data"
    data.mkdir()
    configured = Settings(data_dir=data, database_url=postgres_database_url)
    keyring_from_settings(configured)
    return configured


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SinkProcess]:
    """A target answering after 100 ms: at any instant each node has requests in flight,
    so a node killed mid-run surely dies holding some."""
    process = start_sink(tmp_path / "sink.log", delay_ms=100)
    try:
        yield process
    finally:
        process.stop()
