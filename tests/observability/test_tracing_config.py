"""Which OTEL_* environments turn tracing on, which ones a node refuses, and the rules
for what a span may show (URLs) and what a tenant may send (trace headers)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from onewatch.delivery.headers import with_headers
from onewatch.delivery.request import OutboundRequest
from onewatch.delivery.sender import Response
from onewatch.errors import ConfigurationError
from onewatch.observability.otel import (
    PinnableIds,
    Tracing,
    error_type_of,
    occurrence_ids,
    redacted_url,
    server_attributes,
)
from onewatch.observability.tracing import traces_exporters, tracing_from_environment
from onewatch.store.records import ClaimedDelivery, Outcome

SRC = Path(__file__).resolve().parents[2] / "src"
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(
    ("environment", "exporters"),
    [
        ({}, ()),
        (ENDPOINT, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": " Console , otlp,console"}, ("console", "otlp")),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, ()),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, ()),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "false"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, ()),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_configured(
    environment: dict[str, str], exporters: tuple[str, ...]
) -> None:
    assert traces_exporters(environment) == exporters


def test_without_configuration_no_tracing_is_made() -> None:
    assert tracing_from_environment("node-1", {}) is None


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER: zipkin"),
        ({**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL: grpc"),
        (
            {
                **ENDPOINT,
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: http/json",
        ),
    ],
)
def test_an_exporter_that_cannot_be_made_stops_the_node(
    environment: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        tracing_from_environment("node-1", environment)


def test_the_signal_protocol_wins_over_the_general_one() -> None:
    environment = {
        **ENDPOINT,
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    }
    tracing = tracing_from_environment("node-1", environment)
    assert tracing is not None
    tracing.shutdown()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.org/a/b", "https://hooks.example.org/a/b"),
        (
            "https://user:pw@hooks.example.org/a?key=s3cret",
            "https://hooks.example.org/a?key=REDACTED",
        ),
        ("http://h:8080/p?a=1&a=2&flag#frag", "http://h:8080/p?a=REDACTED&a=REDACTED&flag"),
    ],
)
def test_a_url_in_a_span_has_no_credentials_nor_query_values(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


@pytest.mark.parametrize(
    ("url", "attributes"),
    [
        (
            "https://hooks.example.org/a",
            {"url.full": "https://hooks.example.org/a", "server.address": "hooks.example.org",
             "server.port": 443},
        ),
        (
            "http://[::1]:8080/a?k=v",
            {"url.full": "http://[::1]:8080/a?k=REDACTED", "server.address": "::1",
             "server.port": 8080},
        ),
        ("http://h:99999/a", {}),
        ("http://[::1/a", {}),
    ],
)  # fmt: skip
def test_a_spans_server_attributes_never_fail_on_a_bad_url(
    url: str, attributes: dict[str, object]
) -> None:
    assert server_attributes(url) == attributes


@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (Response(200, 1, "ok"), None),
        (Response(204, 1, ""), None),
        (Response(302, 1, ""), "302"),  # not followed: a failed attempt for Onewatch
        (Response(503, 1, "busy"), "503"),
        (Response(200, 1, "{}", graphql_errors=True), "graphql_errors"),
        (Response(None, 5000, None, error="timed out", error_type="timeout"), "timeout"),
        (Response(None, 0, None, error="unknown"), "_OTHER"),
    ],
)
def test_error_type_names_why_an_attempt_failed(response: Response, error_type: str | None) -> None:
    assert error_type_of(response) == error_type


def test_occurrence_ids_are_the_same_everywhere_and_differ_per_delivery() -> None:
    assert occurrence_ids("msg_1") == occurrence_ids("msg_1")
    assert occurrence_ids("msg_1") != occurrence_ids("msg_2")
    trace_id, span_id = occurrence_ids("msg_1")
    assert 0 < trace_id < 2**128 and 0 < span_id < 2**64


def _claimed(ident: str) -> ClaimedDelivery:
    now = datetime.now(UTC)
    return ClaimedDelivery(
        id=ident,
        lease_token="t",
        event_id=1,
        service="billing",
        event_key="report",
        kind="scheduled",
        scheduled_for=now,
        next_attempt_at=now,
        attempts=0,
        attempt_base=0,
        redriven_at=None,
        params={},
        target_type="webhook",
        target={"endpoint": "http://t/"},
        payload={},
        event_retry_policy=None,
        action_retry_policy=None,
    )


def _stamped(tenant: dict[str, str], ours: dict[str, str]) -> dict[str, str]:
    request = OutboundRequest("POST", "http://t/", tenant, None)
    base = {"webhook-id": "msg_1", "webhook-timestamp": str(int(datetime.now(UTC).timestamp()))}
    return with_headers(request, {**base, **ours}).headers


def test_onewatchs_traceparent_replaces_a_tenants_trace_headers() -> None:
    tenant = {"Traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "t=1"}
    ours = {"traceparent": "00-" + "c" * 32 + "-" + "d" * 16 + "-01"}
    headers = _stamped(tenant, ours)
    assert {
        name.lower(): value for name, value in headers.items() if "trace" in name.lower()
    } == ours


def test_without_tracing_a_tenants_trace_headers_are_sent() -> None:
    tenant = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "t=1"}
    headers = _stamped(tenant, {})
    assert headers["traceparent"] == tenant["traceparent"]
    assert headers["tracestate"] == "t=1"


def test_serve_with_an_unknown_exporter_says_so_and_exits_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEWATCH_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["OTEL_TRACES_EXPORTER"] = "zipkin"
    done = subprocess.run(
        [sys.executable, "-m", "onewatch", "serve", "--port", "0", "--data-dir", "d"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: OTEL_TRACES_EXPORTER: zipkin is not supported (use otlp, console or none)"
    )


def _tracing_sampled_by(ratio: float) -> tuple[Tracing, InMemorySpanExporter]:
    ids = PinnableIds()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)), id_generator=ids)
    exported = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return Tracing(provider, ids), exported


def _finished(item: ClaimedDelivery) -> Outcome:
    now = datetime.now(UTC)
    return Outcome(
        delivery_id=item.id,
        lease_token="t",
        attempt=1,
        status="succeeded",
        next_attempt_at=now,
        started_at=now,
        latency_ms=1,
        status_code=200,
        attempt_outcome="succeeded",
        response_excerpt=None,
        error=None,
        finished_at=now,
    )


def test_a_sampled_delivery_keeps_all_its_spans_and_a_dropped_one_none() -> None:
    tracing, exported = _tracing_sampled_by(0.5)
    kept = 0
    for number in range(200):
        item = _claimed(f"msg_{number}")
        with tracing.attempt(item) as span:
            flags = span.headers()["traceparent"].rsplit("-", 1)[1]
        tracing.occurrence_finished(item, _finished(item))
        spans = [
            s
            for s in exported.get_finished_spans()
            if s.attributes["onewatch.delivery.id"] == item.id
        ]
        sampled = TraceIdRatioBased(0.5).should_sample(None, occurrence_ids(item.id)[0], "x")
        expected = sampled.decision.is_sampled()
        assert len(spans) == (2 if expected else 0)
        assert flags == ("01" if expected else "00")
        kept += expected
    assert 50 < kept < 150


def test_the_traceparent_is_the_one_the_sdk_propagator_writes() -> None:
    tracing, _exported = _tracing_sampled_by(1.0)
    with tracing.attempt(_claimed("msg_1")) as span:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, trace.set_span_in_context(span.span))
        assert span.headers() == carrier
