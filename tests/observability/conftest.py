"""A local OTLP/HTTP receiver and the OTEL_* environment that points a node at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.engine.support import Sink
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
