"""A node configured with the OTLP env exports one trace per delivery to a real receiver:
a CLIENT span per attempt (HTTP conventions), whose context the target gets as
``traceparent``, under the occurrence span whose ids come from the delivery id."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from onewatch.engine.roles import background_roles
from onewatch.observability.otel import OCCURRENCE_SPAN, occurrence_ids
from onewatch.runtime import Runtime
from tests.engine.support import (
    Received,
    Sink,
    add_action,
    add_event,
    attempts_of,
    deliveries_of,
    settings_for,
    utcnow,
    wait_for,
)
from tests.support.otlp_receiver import CLIENT, INTERNAL, STATUS_ERROR, OtlpReceiver, ReceivedSpan

FAST = {"maxAttempts": 3, "minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.1}
#: A tenant's own trace headers, which Onewatch's traceparent must replace.
TENANT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def _fire(runtime: Runtime, sink: Sink, path: str) -> str:
    """One delivery to ``sink``'s ``path`` (a secret in its query); its delivery id."""
    await add_action(
        runtime.store.engine,
        key="notify",
        target={
            "endpoint": f"{sink.base}{path}?token=s3cret&plain",
            "headers": {"traceparent": TENANT_TRACEPARENT, "tracestate": "tenant=1"},
        },
        retry_policy=FAST,
    )
    event_id = await add_event(
        runtime.store.engine,
        key="report",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        action_key="notify",
    )
    runtime.wakeup.notify()

    async def created() -> bool:
        return bool(await deliveries_of(runtime.store.engine, event_id))

    await wait_for(created, what="the delivery to be created")
    return str((await deliveries_of(runtime.store.engine, event_id))[0]["id"])


def _traceparent(received: Received) -> tuple[int, int, str]:
    version, trace_id, span_id, flags = received.headers["traceparent"].split("-")
    assert version == "00"
    return int(trace_id, 16), int(span_id, 16), flags


async def _spans(
    receiver: OtlpReceiver, *, clients: int
) -> tuple[list[ReceivedSpan], ReceivedSpan]:
    """The attempts' CLIENT spans (by attempt number) and the occurrence span."""

    def arrived() -> bool:
        return len(receiver.of_kind(CLIENT)) >= clients and bool(receiver.named(OCCURRENCE_SPAN))

    await wait_for(arrived, what="the attempt and occurrence spans to be exported")
    attempts = sorted(
        receiver.of_kind(CLIENT), key=lambda span: span.attributes["onewatch.attempt"]
    )
    (occurrence,) = receiver.named(OCCURRENCE_SPAN)
    return attempts, occurrence


async def test_a_retried_delivery_is_one_trace_of_client_spans_under_its_occurrence(
    traced_node: Runtime, sink: Sink, otel_environment: OtlpReceiver
) -> None:
    sink.script["/hook"] = [(500, {}, "oops")]
    delivery_id = await _fire(traced_node, sink, "/hook")
    (first, second), occurrence = await _spans(otel_environment, clients=2)

    for span, status in ((first, 500), (second, 200)):
        assert span.name == "POST"
        assert span.attributes["http.request.method"] == "POST"
        assert span.attributes["url.full"] == f"{sink.base}/hook?token=REDACTED&plain"
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.attributes["server.port"] == sink.port
        assert span.attributes["http.response.status_code"] == status
        assert span.attributes["onewatch.delivery.id"] == delivery_id
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert first.attributes["error.type"] == "500"
    assert first.status_code == STATUS_ERROR
    assert "error.type" not in second.attributes
    assert second.status_code != STATUS_ERROR

    # The target saw each attempt's own span as traceparent, never the tenant's header.
    hits = sink.on("/hook")
    assert [_traceparent(hit)[:2] for hit in hits] == [
        (first.trace_id, first.span_id),
        (second.trace_id, second.span_id),
    ]
    assert all("tracestate" not in hit.headers for hit in hits)

    trace_id, occurrence_span_id = occurrence_ids(delivery_id)
    assert occurrence.kind == INTERNAL
    assert (occurrence.trace_id, occurrence.span_id) == (trace_id, occurrence_span_id)
    assert occurrence.parent_span_id is None
    assert occurrence.attributes["onewatch.delivery.status"] == "succeeded"
    assert occurrence.attributes["onewatch.delivery.attempts"] == 2
    assert occurrence.start_ns <= first.start_ns and occurrence.end_ns >= second.end_ns
    for attempt in (first, second):
        assert attempt.trace_id == trace_id
        assert attempt.parent_span_id == occurrence_span_id
        assert attempt.resource["service.name"] == "onewatch-test"
        assert attempt.resource["service.instance.id"] == traced_node.node_id


async def test_a_dead_delivery_marks_its_occurrence_as_an_error(
    traced_node: Runtime, sink: Sink, otel_environment: OtlpReceiver
) -> None:
    sink.script["/gone"] = [(404, {}, "no such tenant")]
    await _fire(traced_node, sink, "/gone")
    (attempt,), occurrence = await _spans(otel_environment, clients=1)
    assert attempt.attributes["error.type"] == "404"
    assert occurrence.attributes["onewatch.delivery.status"] == "dead"
    assert occurrence.status_code == STATUS_ERROR


async def test_a_refused_connection_has_an_error_type_and_no_status_code(
    traced_node: Runtime, otel_environment: OtlpReceiver
) -> None:
    closed = await Sink().start()
    await closed.stop()  # nothing listens on its port any more
    await _fire(traced_node, closed, "/down")
    attempts, _occurrence = await _spans(otel_environment, clients=3)
    assert all("http.response.status_code" not in span.attributes for span in attempts)
    assert {span.attributes["error.type"] for span in attempts} == {"ClientConnectorError"}
    assert [span.attributes.get("http.request.resend_count") for span in attempts] == [None, 1, 2]


async def test_spans_still_queued_are_exported_when_the_node_stops(
    otel_environment: OtlpReceiver,
    sink: Sink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # no export but the last one
    runtime = Runtime.from_settings(settings_for(tmp_path))
    await runtime.start(background_roles())
    try:
        await _fire(runtime, sink, "/hook")
        await wait_for(lambda: bool(sink.on("/hook")), what="the attempt")
    finally:
        await runtime.stop()
    assert [span.kind for span in otel_environment.of_kind(CLIENT)] == [CLIENT]
    assert otel_environment.named(OCCURRENCE_SPAN)


async def test_attempts_made_by_two_nodes_land_in_one_trace(
    otel_environment: OtlpReceiver, sink: Sink, tmp_path: Path
) -> None:
    # The first answer asks for two seconds: node A stops meanwhile, node B retries.
    sink.script["/hook"] = [(429, {"Retry-After": "2"}, "later")]
    first_node = Runtime.from_settings(settings_for(tmp_path))
    await first_node.start(background_roles())
    try:
        delivery_id = await _fire(first_node, sink, "/hook")

        async def first_recorded() -> bool:
            return len(await attempts_of(first_node.store.engine, delivery_id)) == 1

        await wait_for(first_recorded, what="the first attempt to be recorded")
    finally:
        await first_node.stop()
    second_node = Runtime.from_settings(settings_for(tmp_path))
    await second_node.start(background_roles())
    try:
        (first, second), occurrence = await _spans(otel_environment, clients=2)
    finally:
        await second_node.stop()

    trace_id, occurrence_span_id = occurrence_ids(delivery_id)
    assert [span.resource["service.instance.id"] for span in (first, second)] == [
        first_node.node_id,
        second_node.node_id,
    ]
    assert {(span.trace_id, span.parent_span_id) for span in (first, second)} == {
        (trace_id, occurrence_span_id)
    }
    assert occurrence.resource["service.instance.id"] == second_node.node_id
    assert [_traceparent(hit)[1] for hit in sink.on("/hook")] == [first.span_id, second.span_id]
