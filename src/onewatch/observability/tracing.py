"""Whether this node exports traces, read from the standard OpenTelemetry variables.

Tracing is off unless configured: with no ``OTEL_TRACES_EXPORTER`` and no OTLP endpoint
in the environment no SDK is imported and no provider is made, so the dispatcher's and
the API's hot paths pay one ``is None`` check (a node's RSS and imports stay as they
were: ``tests/test_footprint.py``). The SDK half lives in ``observability.otel``,
imported only here and only when tracing is on.

The rule differs from the SDK's own default (``OTEL_TRACES_EXPORTER`` defaults to
``otlp`` there) on purpose: a node nobody pointed at a collector would otherwise try
``localhost:4318`` for ever and pay for spans no one reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from onewatch.errors import ConfigurationError

if TYPE_CHECKING:
    from onewatch.observability.otel import Tracing

#: The exporters a node can make (``OTEL_TRACES_EXPORTER``, comma-separated).
SUPPORTED_EXPORTERS = ("otlp", "console")
#: The one OTLP protocol shipped (``opentelemetry-exporter-otlp-proto-http``).
OTLP_PROTOCOL = "http/protobuf"


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def traces_exporters(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters the environment asks for; empty when tracing is off.

    ``OTEL_SDK_DISABLED=true`` wins over everything; ``OTEL_TRACES_EXPORTER=none`` turns
    tracing off; unset, tracing is on (OTLP) only when an OTLP endpoint is given.
    """
    if _flag(environ, "OTEL_SDK_DISABLED"):
        return ()
    named = [part.strip().lower() for part in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [part for part in named if part]
    if named:
        return () if named == ["none"] else tuple(dict.fromkeys(named))
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ("otlp",) if any(environ.get(name, "").strip() for name in endpoints) else ()


def exporter_problem(environ: Mapping[str, str], exporters: tuple[str, ...]) -> str | None:
    """Why the asked-for exporters cannot be made (checked at start-up, not at export)."""
    unknown = [name for name in exporters if name not in SUPPORTED_EXPORTERS]
    if unknown:
        return (
            f"OTEL_TRACES_EXPORTER: {', '.join(unknown)} is not supported"
            f" (use {', '.join(SUPPORTED_EXPORTERS)} or none)"
        )
    if "otlp" not in exporters:
        return None
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(name, "").strip()
        if protocol:
            if protocol != OTLP_PROTOCOL:
                return f"{name}: {protocol} is not supported (only {OTLP_PROTOCOL})"
            break
    return None


def tracing_from_environment(
    node_id: str, environ: Mapping[str, str] | None = None
) -> Tracing | None:
    """This node's tracing as the environment configures it, or None when it is off.

    Raises ``ConfigurationError`` for an exporter or protocol that cannot be made, so a
    typo stops the node at start-up instead of silently dropping every span.
    """
    env = os.environ if environ is None else environ
    exporters = traces_exporters(env)
    if not exporters:
        return None
    problem = exporter_problem(env, exporters)
    if problem is not None:
        raise ConfigurationError(problem)
    from onewatch.observability.otel import Tracing

    return Tracing.start(exporters, node_id=node_id)
