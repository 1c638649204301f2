"""Trace ids on log lines, so an operator can go from a log line to its trace.

A structlog processor that adds ``trace_id`` (32 hex digits) and ``span_id`` (16), the
W3C ``traceparent`` forms, to a line written while a span is current: in the dispatcher,
inside a delivery attempt's CLIENT span. ``observability.logging`` installs it only when
tracing is on, so a node that exports no traces pays nothing for it.
"""

from __future__ import annotations

from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger


def add_trace_ids(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """``trace_id`` and ``span_id`` of the current span, when there is a valid one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
