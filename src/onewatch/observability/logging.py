"""Structured logs (structlog): JSON in production, readable lines on a terminal."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from onewatch.observability.tracing import traces_exporters


def _processors(trace_ids: bool) -> list[structlog.types.Processor]:
    """What every line goes through before the renderer; with ``trace_ids``, the current
    span's ids too (``observability.trace_logs``, imported only then)."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if trace_ids:
        from onewatch.observability.trace_logs import add_trace_ids

        processors.append(add_trace_ids)
    return processors


def configure_logging(
    log_format: str = "console", level: str = "INFO", *, trace_ids: bool | None = None
) -> None:
    """Route structlog through one renderer, once at start-up.

    ``trace_ids``: add the current span's ``trace_id`` and ``span_id`` to each line; by
    default when the environment turns tracing on (``observability.tracing``, the same
    rule the node's ``Runtime`` follows), so with tracing off no line pays for a lookup.
    """
    if trace_ids is None:
        trace_ids = bool(traces_exporters(os.environ))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*_processors(trace_ids), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
