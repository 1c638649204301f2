"""Fixtures shared by every test module."""

from __future__ import annotations

import os

import pytest


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


# The store fixtures (``store_url``, ``store_engine``) over SQLite and PostgreSQL.
pytest_plugins = ("tests.backends",)
