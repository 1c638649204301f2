"""Dashboard tests talk to a real node over HTTP, on its own SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.live import LiveApp, ManualClock, live_app
from tests.ui.chromium import headless_chromium


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def live(tmp_path: Path, clock: ManualClock) -> AsyncIterator[LiveApp]:
    async with live_app(tmp_path, clock=clock) as node:
        yield node


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (``tests.ui.chromium``)."""
    async with headless_chromium() as browser:
        yield browser
