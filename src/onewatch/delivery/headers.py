"""The headers every delivery request carries, and the seam where a signer adds its own.

``webhook-id`` is the delivery id, the same on every retry, and ``Idempotency-Key``
repeats it, so a target can drop a duplicate after an at-least-once redelivery.
A tenant's header that ``delivery.header_rules`` forbids (``Host``, ``Content-Length``,
CR/LF in a value...) is dropped here and logged, so a row stored before the API
refused them cannot frame or address a request.

With tracing on, ``traceparent`` names the attempt's span (``observability.otel``), and
like every header of Onewatch's it wins over a tenant's header of the same name; a
tenant's ``tracestate`` is dropped with it, as it belongs to another trace. With tracing
off, a tenant's ``traceparent`` and ``tracestate`` are sent as configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import structlog

from onewatch.delivery.header_rules import sendable_headers
from onewatch.delivery.request import OutboundRequest

log = structlog.get_logger("onewatch.dispatcher")

#: Headers only Onewatch may set: a user header of the same name is dropped, so a
#: tenant cannot pass off its own ``webhook-signature`` as Onewatch's.
SIGNATURE_HEADER = "webhook-signature"
#: W3C Trace Context: the trace's ``tracestate`` goes with its ``traceparent``.
TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"


class RequestSigner(Protocol):
    """Adds signature headers (Standard Webhooks) to a request about to be sent.

    Called after the Onewatch headers are set, so ``webhook-id`` and
    ``webhook-timestamp`` are already in ``request.headers``; returns headers to add.
    Asynchronous because the service's secrets live in the store (cached briefly).
    """

    async def sign(self, request: OutboundRequest, *, service: str) -> Mapping[str, str]: ...


def delivery_headers(
    *,
    delivery_id: str,
    service: str,
    event_key: str,
    scheduled_for: datetime,
    attempt: int,
    now: datetime,
) -> dict[str, str]:
    """Onewatch's own headers for one attempt of one delivery."""
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "Idempotency-Key": delivery_id,
        "Onewatch-Event": f"{service}/{event_key}",
        "Onewatch-Scheduled-For": scheduled_for.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "Onewatch-Attempt": str(attempt),
    }


def with_headers(request: OutboundRequest, ours: Mapping[str, str]) -> OutboundRequest:
    """The request with Onewatch's headers; they win over user headers of the same name,
    and user headers the rules forbid are dropped (logged by name, never by value)."""
    reserved = {name.lower() for name in ours} | {SIGNATURE_HEADER}
    if TRACEPARENT_HEADER in reserved:
        reserved.add(TRACESTATE_HEADER)
    headers, dropped = sendable_headers(request.headers)
    for name, problem in dropped.items():
        log.warning(
            "tenant header dropped", delivery_id=ours.get("webhook-id"), header=name, rule=problem
        )
    headers = {k: v for k, v in headers.items() if k.lower() not in reserved}
    headers.update(ours)
    return replace(request, headers=headers)


async def signed(
    request: OutboundRequest, signer: RequestSigner, *, service: str
) -> OutboundRequest:
    """``request`` (already carrying Onewatch's headers) with the signer's headers added."""
    added = await signer.sign(request, service=service)
    return replace(request, headers={**request.headers, **added})
