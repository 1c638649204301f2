"""Spans for deliveries, with the OpenTelemetry SDK (imported only when tracing is on).

One trace per delivery. Its trace id and the id of its *occurrence* span are derived from
the delivery id (``occurrence_ids``), so every attempt, on whichever node and however
long after the last, is a child of the same occurrence span in the same trace without
any state shared between nodes. Each attempt is a CLIENT span (HTTP semantic
conventions) whose context travels to the target as ``traceparent``. The occurrence
span itself is exported once the delivery is final (succeeded or dead), by the node that
made the last attempt, from the instant it was scheduled for to that outcome: so it
covers its lateness and every retry. A redriven delivery that ends again exports it
again, with the same ids and a later end.

Sampling stays consistent across nodes: the occurrence's sampled flag comes from the
configured sampler applied to the derived trace id (``traceidratio`` and the ``parentbased``
samplers decide on the trace id alone), and the attempts inherit it as their parent's.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import SplitResult, urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import (
    SERVICE_INSTANCE_ID,
    SERVICE_NAME,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from onewatch import __version__
from onewatch.delivery.request import OutboundRequest
from onewatch.delivery.sender import Response
from onewatch.domain.statuses import AttemptOutcome, DeliveryStatus
from onewatch.store.records import ClaimedDelivery, Outcome

#: The instrumentation scope of every span Onewatch makes itself.
SCOPE = "onewatch"
OCCURRENCE_SPAN = "onewatch occurrence"
#: What a redacted query value becomes (the name the HTTP conventions use).
REDACTED = "REDACTED"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def occurrence_ids(delivery_id: str) -> tuple[int, int]:
    """(trace id, occurrence span id) of a delivery: the same on every node and attempt."""
    digest = hashlib.sha256(f"onewatch/occurrence/{delivery_id}".encode()).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return trace_id, span_id


class PinnableIds(RandomIdGenerator):
    """Random ids, except for a span started while ``pinned`` holds the ids it must get.

    The SDK makes a span's ids itself; an id generator is its one extension point for
    choosing them, which the occurrence span needs (its ids come from the delivery id).
    """

    def __init__(self) -> None:
        self.pinned: ContextVar[tuple[int, int] | None] = ContextVar("pinned", default=None)

    def generate_trace_id(self) -> int:
        pinned = self.pinned.get()
        return super().generate_trace_id() if pinned is None else pinned[0]

    def generate_span_id(self) -> int:
        pinned = self.pinned.get()
        return super().generate_span_id() if pinned is None else pinned[1]

    def is_trace_id_random(self) -> bool:
        # A pinned trace id is a hash: the W3C "random" flag stays off for every span.
        return False


def redacted_url(url: str) -> str:
    """``url`` without credentials and with every query value replaced by ``REDACTED``.

    Webhook URLs often carry a token in the query (``?key=...``); the HTTP conventions
    redact only a few well-known names, Onewatch redacts every value and keeps the names.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        f"{pair.partition('=')[0]}={REDACTED}" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


def server_attributes(url: str) -> dict[str, str | int]:
    """``url.full``, ``server.address`` and ``server.port`` of a request to ``url``.

    None for a URL that does not parse (a port out of range, a broken IPv6 literal): the
    send fails on it and says why, and a span must never turn that into a crash.
    """
    try:
        parts = urlsplit(url)
        attributes: dict[str, str | int] = {"url.full": redacted_url(url)}
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return {}
    if parts.hostname:
        attributes["server.address"] = parts.hostname
    if port:
        attributes["server.port"] = port
    return attributes


def error_type_of(response: Response) -> str | None:
    """The conventions' ``error.type``: the status code of a failed answer, or a short
    name for a failure before any answer; for Onewatch any status but 2xx fails."""
    if response.status_code is not None and not 200 <= response.status_code < 300:
        return str(response.status_code)
    if response.status_code is None:
        return response.error_type or "_OTHER"
    return "graphql_errors" if response.graphql_errors else None


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    # Reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION...
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _processor(name: str) -> SpanProcessor:
    # The console is for trying things out: its spans print as they end.
    if name == "console":
        return SimpleSpanProcessor(_exporter(name))
    # Reads OTEL_BSP_SCHEDULE_DELAY, _MAX_QUEUE_SIZE, _MAX_EXPORT_BATCH_SIZE, _EXPORT_TIMEOUT.
    return BatchSpanProcessor(_exporter(name))


def _resource(node_id: str) -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES first; then ``onewatch`` as the
    service and the node id (as ``GET /v1/nodes`` lists it) as its instance; then the
    SDK's own attributes."""
    ours = Resource({SERVICE_NAME: "onewatch", SERVICE_INSTANCE_ID: node_id})
    return Resource.create().merge(ours).merge(OTELResourceDetector().detect())


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


class AttemptSpan:
    """The CLIENT span of one attempt, filled in as the attempt learns its request and
    response (``engine.attempt`` calls these only when tracing is on)."""

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def headers(self) -> dict[str, str]:
        """``traceparent`` (and ``tracestate`` when there is one) naming this span.

        Written directly in the W3C format (version 00), as the SDK's propagator writes
        it (``tests/observability`` compares both) at a third of its cost per attempt.
        """
        context = self.span.get_span_context()
        headers = {
            "traceparent": (
                f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
            )
        }
        if context.trace_state:
            headers["tracestate"] = context.trace_state.to_header()
        return headers

    def request(self, request: OutboundRequest) -> None:
        self.span.update_name(request.method)
        self.span.set_attribute("http.request.method", request.method)
        self.span.set_attributes(server_attributes(request.url))

    def response(self, response: Response) -> None:
        if response.status_code is not None:
            self.span.set_attribute("http.response.status_code", response.status_code)
        error_type = error_type_of(response)
        if error_type is not None:
            self.span.set_attribute("error.type", error_type)

    def outcome(self, outcome: Outcome) -> None:
        self.span.set_attribute("onewatch.delivery.status", outcome.status)
        if outcome.attempt_outcome != AttemptOutcome.SUCCEEDED:
            self.span.set_status(Status(StatusCode.ERROR, (outcome.error or "failed")[:256]))


class Tracing:
    """This node's tracer provider and the spans Onewatch makes with it."""

    def __init__(self, provider: TracerProvider, ids: PinnableIds) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(SCOPE, __version__)
        self._ids = ids

    @classmethod
    def start(cls, exporters: tuple[str, ...], *, node_id: str) -> Tracing:
        """A provider with one processor per exporter; nothing global is set, so each
        runtime (several per test process) keeps its own."""
        ids = PinnableIds()
        # The sampler comes from OTEL_TRACES_SAMPLER(_ARG), as the SDK reads them.
        provider = TracerProvider(resource=_resource(node_id), id_generator=ids)
        for name in exporters:
            provider.add_span_processor(_processor(name))
        return cls(provider, ids)

    def shutdown(self) -> None:
        """Export what is queued (within OTEL_BSP_EXPORT_TIMEOUT) and stop the processors.

        Blocking: ``Runtime.stop`` runs it in a thread, after the roles have stopped.
        """
        self.provider.shutdown()

    def _occurrence_context(self, item: ClaimedDelivery) -> Context:
        trace_id, span_id = occurrence_ids(item.id)
        sampled = self.provider.sampler.should_sample(None, trace_id, OCCURRENCE_SPAN)
        chosen = sampled.decision is Decision.RECORD_AND_SAMPLE
        flags = TraceFlags.SAMPLED if chosen else TraceFlags.DEFAULT
        parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))
        return trace.set_span_in_context(trace.NonRecordingSpan(parent))

    @contextmanager
    def attempt(self, item: ClaimedDelivery) -> Iterator[AttemptSpan]:
        """The attempt's CLIENT span, a child of the delivery's occurrence span."""
        attributes: dict[str, str | int] = {
            "onewatch.delivery.id": item.id,
            "onewatch.service": item.service,
            "onewatch.event.key": item.event_key,
            "onewatch.attempt": item.attempt_number,
        }
        if item.attempt_number > 1:
            attributes["http.request.resend_count"] = item.attempt_number - 1
        with self.tracer.start_as_current_span(
            "HTTP",
            context=self._occurrence_context(item),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        ) as span:
            yield AttemptSpan(span)

    def occurrence_finished(self, item: ClaimedDelivery, outcome: Outcome) -> None:
        """Export the occurrence span of a delivery that ``outcome`` made final."""
        end = time.time_ns()
        token = self._ids.pinned.set(occurrence_ids(item.id))
        try:
            span = self.tracer.start_span(
                OCCURRENCE_SPAN,
                context=Context(),  # a root: the ids are pinned, not inherited
                kind=SpanKind.INTERNAL,
                attributes={
                    "onewatch.delivery.id": item.id,
                    "onewatch.service": item.service,
                    "onewatch.event.key": item.event_key,
                    "onewatch.delivery.kind": item.kind,
                    "onewatch.delivery.scheduled_for": item.scheduled_for.isoformat(),
                    "onewatch.delivery.status": outcome.status,
                    "onewatch.delivery.attempts": outcome.attempt,
                },
                start_time=min(_nanoseconds(item.scheduled_for), end),
            )
        finally:
            self._ids.pinned.reset(token)
        if outcome.status == DeliveryStatus.DEAD:
            span.set_status(Status(StatusCode.ERROR, (outcome.error or "dead")[:256]))
        span.end(end_time=end)
