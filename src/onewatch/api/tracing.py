"""SERVER spans for API requests (stable HTTP server conventions), around the front door.

The middleware wraps the app's front door (``create_app``), so the fast create path
(``api.fast_create``), which answers before FastAPI's routing, is traced like every
other route; it exists only when tracing is on, so a node without it pays nothing.
A caller's ``traceparent`` makes the request's span a child of the caller's.

Why not ``opentelemetry-instrumentation-asgi``: measured side by side in process
(BENCHMARKS.md, "Tracing"), its SERVER span cost the API's hottest path about 1.6 times
this one's CPU (it decodes every header again for each one it looks up and sets each
attribute twice); the spans here carry the same stable HTTP server attributes.

Span names are ``METHOD /route/{template}`` (never the raw path: keys and ids would make
a name per request); the route is known only once routing has run, so the span is
renamed as the response starts (it ends with the response's last byte).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onewatch.api import fast_create
from onewatch.observability.otel import REDACTED, Tracing

_PROPAGATOR = TraceContextTextMapPropagator()
#: The methods the conventions name; any other is ``_OTHER`` (a bounded set of values).
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)
#: Where a deployment lists URLs not to trace, as the OpenTelemetry instrumentations do.
EXCLUDED_URLS_VARIABLES = ("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")


def excluded_paths(environ: Mapping[str, str] | None = None) -> re.Pattern[str] | None:
    """The comma-separated regular expressions of paths not to trace, as one pattern."""
    env = os.environ if environ is None else environ
    for name in EXCLUDED_URLS_VARIABLES:
        parts = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
        if parts:
            return re.compile("|".join(f"(?:{part})" for part in parts))
    return None


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _redacted_query(raw: bytes) -> str:
    pairs = raw.decode("latin-1").split("&")
    return "&".join(
        f"{pair.partition('=')[0]}={REDACTED}" if "=" in pair else pair for pair in pairs if pair
    )


def _request_attributes(scope: Scope, headers: dict[str, str]) -> dict[str, str | int]:
    method = scope["method"]
    attributes: dict[str, str | int] = {
        "http.request.method": method if method in _KNOWN_METHODS else "_OTHER",
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if method not in _KNOWN_METHODS:
        attributes["http.request.method_original"] = method
    if scope.get("query_string"):
        attributes["url.query"] = _redacted_query(scope["query_string"])
    attributes.update(_server_address(headers.get("host")))
    if scope.get("client"):
        attributes["client.address"] = scope["client"][0]
    if "user-agent" in headers:
        attributes["user_agent.original"] = headers["user-agent"]
    return attributes


def _server_address(host: str | None) -> dict[str, str | int]:
    """``server.address`` and ``server.port`` from the ``Host`` the client sent."""
    if not host:
        return {}
    try:
        parts = urlsplit(f"//{host}")
        found: dict[str, str | int] = {"server.address": parts.hostname or host}
        if parts.port:
            found["server.port"] = parts.port
    except ValueError:
        return {}
    return found


def _route_path(scope: Scope) -> str | None:
    """The template of the route that served ``scope``: the one routing chose, or for a
    create the front door answered before routing, the one path it answers."""
    path = getattr(scope.get("route"), "path", None)
    if path is None and scope["method"] == "POST" and scope["path"] == fast_create.PATH:
        return fast_create.PATH
    return path if isinstance(path, str) else None


def _responded(span: trace.Span, scope: Scope, status: int) -> None:
    route = _route_path(scope)
    if route is not None:
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:  # for a server, a 4xx is the client's error, not this span's
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))


class TracedRequests:
    """A SERVER span around each HTTP request to ``app``, exported by ``tracing``."""

    def __init__(self, app: ASGIApp, tracing: Tracing, excluded: re.Pattern[str] | None) -> None:
        self.app = app
        self.tracer = tracing.tracer
        self.excluded = excluded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.excluded and self.excluded.search(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        span = self.tracer.start_span(
            scope["method"] if scope["method"] in _KNOWN_METHODS else "HTTP",
            context=_PROPAGATOR.extract(headers),
            kind=SpanKind.SERVER,
            attributes=_request_attributes(scope, headers),
        )

        async def responding(message: Message) -> None:
            if message["type"] == "http.response.start":
                _responded(span, scope, message["status"])
            await send(message)

        try:
            with trace.use_span(span):  # an exception is recorded, with an ERROR status
                await self.app(scope, receive, responding)
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            raise
        finally:
            span.end()


def traced(app: ASGIApp, tracing: Tracing) -> ASGIApp:
    """``app`` inside a SERVER span per request; paths matching the excluded-URL
    variables (``healthz,readyz,metrics``) are left untraced."""
    return TracedRequests(app, tracing, excluded_paths())
