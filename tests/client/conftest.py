"""A real ``onewatch serve`` process and a real HTTP target, shared by a module's tests.

Each test speaks for its own service (tokens name it), so tests sharing a server never
see each other's actions, events or deliveries.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server_process import ServerProcess, Target, running_server, running_target


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("node")) as node:
        yield node


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with running_target() as running:
        yield running
