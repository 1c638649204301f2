"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog


def postgres_url() -> str:
    url = os.environ.get("ONEWATCH_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ONEWATCH_TEST_POSTGRES_URL is not set (CI sets it in .ci/run)")
    return url


def redis_url() -> str:
    url = os.environ.get("ONEWATCH_TEST_REDIS_URL")
    if not url:
        pytest.skip("ONEWATCH_TEST_REDIS_URL is not set (CI sets it in .ci/run)")
    return url


@pytest.fixture
def json_logs() -> Iterator[None]:
    """Put structlog back to its defaults after the test configured it."""
    try:
        yield
    finally:
        structlog.reset_defaults()


# The store fixtures (``store_url``, ``store_engine``) over SQLite and PostgreSQL.
pytest_plugins = ("tests.backends",)
