"""Clean-up shared by the scale tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.cluster import kill_leftovers


@pytest.fixture(autouse=True)
def _no_node_outlives_its_test() -> Iterator[None]:
    # A test that fails between starting nodes and stopping them would leave worker
    # processes running against a dropped database, loading the machine for the rest.
    yield
    kill_leftovers()
