"""Which OTEL_* environments turn tracing on, which ones a node refuses, and the rules
for what a span may show (URLs) and what a tenant may send (trace headers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onewatch.delivery.headers import with_headers
from onewatch.delivery.request import OutboundRequest
from onewatch.errors import ConfigurationError
from onewatch.observability.otel import occurrence_ids, redacted_url
from onewatch.observability.tracing import traces_exporters, tracing_from_environment

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


def test_occurrence_ids_are_the_same_everywhere_and_differ_per_delivery() -> None:
    assert occurrence_ids("msg_1") == occurrence_ids("msg_1")
    assert occurrence_ids("msg_1") != occurrence_ids("msg_2")
    trace_id, span_id = occurrence_ids("msg_1")
    assert 0 < trace_id < 2**128 and 0 < span_id < 2**64


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
