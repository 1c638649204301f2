"""Every API test talks to a real node over HTTP, on its own SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.live import LiveApp, ManualClock, live_app


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=BACKENDS)
async def live(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[LiveApp]:
    """A node on SQLite, and on PostgreSQL too when ONEWATCH_TEST_POSTGRES_URL is set."""
    async with (
        fresh_database_url(request.param, tmp_path) as url,
        live_app(tmp_path, clock=clock, database_url=url) as node,
    ):
        yield node
