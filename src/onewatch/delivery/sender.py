"""Sending one request and reading what came back, without ever raising.

Redirects are not followed (a 3xx is a failure to retry, so a target cannot bounce a
delivery to an address the policy did not check); the body is read up to a cap.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from onewatch.delivery.request import OutboundRequest
from onewatch.delivery.target_policy import DestinationDenied

#: How much of a GraphQL response is read to look for ``errors``.
GRAPHQL_READ_CAP = 256 * 1024


@dataclass(frozen=True)
class Response:
    """What one attempt got: a status and an excerpt, or an error before any status."""

    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None = None
    retry_after: str | None = None
    graphql_errors: bool = False
    #: The outbound target policy refused the destination (no connection was made).
    denied: bool = False
    #: A short, stable name for ``error`` (a trace's ``error.type``): not its text.
    error_type: str | None = None
    #: Lambda's ``X-Amz-Function-Error`` (``Unhandled``...): the function failed, though
    #: the invoke itself answered 200.
    function_error: str | None = None

    @property
    def failed_despite_status(self) -> bool:
        return self.graphql_errors or self.function_error is not None


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = await response.content.read(cap - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _has_graphql_errors(body: bytes) -> bool:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return True  # not JSON: not a GraphQL answer
    return not isinstance(document, dict) or bool(document.get("errors"))


def _timeout(
    request: OutboundRequest, default: aiohttp.ClientTimeout, connect_seconds: float
) -> aiohttp.ClientTimeout:
    """The action's own timeout, else the session's configured one.

    Never None: aiohttp reads a per-request ``timeout=None`` as "no timeout at all", and
    a target that never answers would then hold its lease and slots forever.
    """
    if request.timeout_seconds is None:
        return default
    return aiohttp.ClientTimeout(total=request.timeout_seconds, sock_connect=connect_seconds)


async def send(
    session: aiohttp.ClientSession,
    request: OutboundRequest,
    *,
    excerpt_bytes: int,
    connect_timeout: float,
) -> Response:
    """Send ``request``; network errors and timeouts come back as ``Response.error``.

    Without an action timeout the session's (``delivery.client.create_session``: the
    configured connect and total timeouts) bounds the call.
    """
    started = time.perf_counter()
    cap = max(excerpt_bytes, GRAPHQL_READ_CAP if request.is_graphql else 0)
    try:
        async with session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            allow_redirects=False,
            timeout=_timeout(request, session.timeout, connect_timeout),
        ) as response:
            body = await _read_capped(response, cap)
            status = response.status
            retry_after = response.headers.get("Retry-After")
    except DestinationDenied as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Response(
            None, latency, None, error=str(exc), denied=True, error_type="destination_denied"
        )
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Response(None, latency, None, error=_describe(exc), error_type=_error_type(exc))
    latency = int((time.perf_counter() - started) * 1000)
    excerpt = body[:excerpt_bytes].decode("utf-8", errors="replace") if excerpt_bytes else None
    graphql_errors = request.is_graphql and 200 <= status < 300 and _has_graphql_errors(body)
    return Response(status, latency, excerpt, None, retry_after, graphql_errors)


def _error_type(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__qualname__


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:1000]
