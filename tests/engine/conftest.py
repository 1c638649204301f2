"""Fixtures for the firing tests: a target server and a node's runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import Sink, make_runtime, settings_for


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A migrated store; the roles are not started (``running`` starts them)."""
    node = await make_runtime(settings_for(tmp_path))
    try:
        yield node
    finally:
        await node.stop()


@pytest.fixture
async def running(runtime: Runtime) -> Runtime:
    await runtime.start(background_roles())
    return runtime
