"""A local OTLP/HTTP receiver and the OTEL_* environment that points a node at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.support import Sink, settings_for
from tests.support.otlp_receiver import OtlpReceiver

#: Milliseconds between the batch processor's exports: spans arrive soon after they end.
TEST_SCHEDULE_DELAY_MS = "50"


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    """A webhook target on 127.0.0.1 that records every request (and its headers)."""
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[OtlpReceiver]:
    server = await OtlpReceiver().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def otel_environment(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> OtlpReceiver:
    """The standard variables a deployment sets; every other OTEL_* variable unset."""
    for name in (
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_TRACES_SAMPLER",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_PYTHON_ASGI_EXCLUDED_URLS",
        "OTEL_PYTHON_EXCLUDED_URLS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "onewatch-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", TEST_SCHEDULE_DELAY_MS)
    return receiver


@pytest.fixture
async def traced_node(otel_environment: OtlpReceiver, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A node built as ``onewatch serve`` builds it, so the OTEL_* environment applies."""
    runtime = Runtime.from_settings(settings_for(tmp_path))
    assert runtime.tracing is not None
    await runtime.start(background_roles())
    try:
        yield runtime
    finally:
        await runtime.stop()
