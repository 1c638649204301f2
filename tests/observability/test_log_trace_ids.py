"""A log line written during a delivery attempt names the attempt's trace and span, the
ones the node exports over OTLP, so an operator can go from the line to the trace; with
tracing off, lines carry no such fields (and no lookup is made for them)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import structlog

from onewatch.observability.logging import configure_logging
from onewatch.observability.trace_logs import add_trace_ids
from onewatch.runtime import Runtime
from tests.engine.support import Sink, add_action, add_event, utcnow, wait_for
from tests.support.otlp_receiver import CLIENT, OtlpReceiver

#: What the dispatcher logs, inside the attempt's span, when a stored policy is unusable.
POLICY_LINE = "stored retry policy invalid; using defaults"


def _json_logs_to(stream: io.StringIO) -> None:
    """The node's JSON logs (trace ids as the environment says), written to ``stream``."""
    configure_logging("json", "DEBUG")
    # Loggers cached during this test would keep writing to this test's stream.
    factory = structlog.PrintLoggerFactory(file=stream)
    structlog.configure(logger_factory=factory, cache_logger_on_first_use=False)


def _lines(captured: str, event: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in parsed if line.get("event") == event]


async def test_a_line_logged_during_an_attempt_carries_the_exported_spans_ids(
    json_logs: None,
    traced_node: Runtime,
    sink: Sink,
    otel_environment: OtlpReceiver,
) -> None:
    logs = io.StringIO()
    _json_logs_to(logs)
    engine = traced_node.store.engine
    # Stored straight in the table: the API would refuse it; the dispatcher logs it.
    await add_action(
        engine, key="notify", target={"endpoint": f"{sink.base}/hook"}, retry_policy={"x": 1}
    )
    when = (utcnow() + timedelta(milliseconds=50)).isoformat()
    await add_event(engine, key="report", pattern=when, action_key="notify")
    traced_node.wakeup.notify()

    await wait_for(lambda: bool(otel_environment.of_kind(CLIENT)), what="the attempt's span")
    (span,) = otel_environment.of_kind(CLIENT)
    (line,) = _lines(logs.getvalue(), POLICY_LINE)
    assert line["delivery_id"] == span.attributes["onewatch.delivery.id"]
    assert line["trace_id"] == f"{span.trace_id:032x}"
    assert line["span_id"] == f"{span.span_id:016x}"


def test_with_tracing_off_no_trace_processor_is_installed(
    json_logs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    configure_logging("json", "INFO")
    assert add_trace_ids not in structlog.get_config()["processors"]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    configure_logging("json", "INFO")
    assert add_trace_ids in structlog.get_config()["processors"]


def test_a_line_outside_any_span_gets_no_trace_fields(json_logs: None) -> None:
    assert add_trace_ids(None, "info", {"event": "started"}) == {"event": "started"}
