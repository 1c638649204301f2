"""SERVER spans for API requests, with the maintained ASGI instrumentation.

The middleware wraps the app's front door (``create_app``), so the fast create path
(``api.fast_create``), which answers before FastAPI's routing, is traced like every
other route; it exists only when tracing is on, so a node without it pays nothing.
A caller's ``traceparent`` makes the request's span a child of the caller's.

Span names are ``METHOD /route/{template}`` (never the raw path: keys and ids would make
a name per request); the route is known only once routing has run, so the span is
renamed when the response starts.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.util.http import get_excluded_urls
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onewatch.api import fast_create
from onewatch.observability.otel import Tracing


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The name a span starts with (the method), until ``RouteNames`` knows the route."""
    return str(scope.get("method") or "HTTP"), {}


def _route_path(scope: Scope) -> str | None:
    """The template of the route that served ``scope``: the one routing chose, or for a
    create the front door answered before routing, the one path it answers."""
    path = getattr(scope.get("route"), "path", None)
    if path is None and scope["method"] == "POST" and scope["path"] == fast_create.PATH:
        return fast_create.PATH
    return path if isinstance(path, str) else None


class RouteNames:
    """Names the request's span after its route as the response starts (routing is over
    then, and the span still open: it ends with the response's last byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def naming_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._name(scope)
            await send(message)

        await self.app(scope, receive, naming_send)

    @staticmethod
    def _name(scope: Scope) -> None:
        path = _route_path(scope)
        if path is not None:
            span = trace.get_current_span()
            span.update_name(f"{scope['method']} {path}")
            span.set_attribute("http.route", path)


def traced(app: ASGIApp, tracing: Tracing) -> ASGIApp:
    """``app`` inside a SERVER span per request, exported by ``tracing``'s provider.

    The stable HTTP conventions (``http.request.method``, ``url.path``...), as the
    attempts' CLIENT spans use, unless OTEL_SEMCONV_STABILITY_OPT_IN says otherwise (the
    instrumentation reads it once per process, so it is set before the first use).
    URLs to leave out: OTEL_PYTHON_ASGI_EXCLUDED_URLS or OTEL_PYTHON_EXCLUDED_URLS.
    """
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    return OpenTelemetryMiddleware(
        RouteNames(app),
        excluded_urls=get_excluded_urls("ASGI"),
        default_span_details=_method_only,
        tracer_provider=tracing.provider,
        # Prometheus at /metrics counts requests already; no OTel metrics are exported.
        meter_provider=NoOpMeterProvider(),
        # One span per request: not one more per ASGI message sent or received.
        exclude_spans=["receive", "send"],
    )
