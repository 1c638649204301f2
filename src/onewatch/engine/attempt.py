"""One attempt of one delivery: build the request, send it, decide what comes next."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
import structlog

from onewatch.clock import Clock
from onewatch.delivery.aws_request import AwsCall, build_aws_call
from onewatch.delivery.aws_targets import AwsTargets
from onewatch.delivery.headers import RequestSigner, delivery_headers, signed, with_headers
from onewatch.delivery.host_slots import HostSlots, NoFreeHostSlot, SlotKey, slot_key
from onewatch.delivery.request import OutboundRequest, UnsendableTarget, build_request
from onewatch.delivery.sender import Response, send
from onewatch.domain.documents import AWS_TARGET_KINDS
from onewatch.domain.retry import (
    AttemptResult,
    Decision,
    Random,
    RetryPolicy,
    Verdict,
    decide,
    effective_policy,
    parse_retry_after,
)
from onewatch.domain.statuses import AttemptOutcome
from onewatch.errors import ValidationFailed
from onewatch.observability.metrics import Metrics, status_class
from onewatch.store.records import ClaimedDelivery, Outcome

if TYPE_CHECKING:
    from onewatch.observability.otel import AttemptSpan, Tracing

log = structlog.get_logger("onewatch.dispatcher")

#: Why a refused destination is not retried: the refusal is the operator's rule applied
#: to the resolved address, not a passing fault, and retrying would keep a blocked
#: (possibly hostile) target alive for the whole retry budget. Fix, then redrive.
DENIED_IS_FINAL = "the outbound policy refuses this destination; not retried"


@dataclass(frozen=True)
class AttemptTools:
    """What every attempt shares: the HTTP session, clock, jitter, signer, metrics."""

    session: aiohttp.ClientSession
    clock: Clock
    rng: Random
    metrics: Metrics
    excerpt_bytes: int
    connect_timeout: float
    signer: RequestSigner | None = None
    #: Each service's calls in flight per target host (unlimited unless given).
    host_slots: HostSlots = field(default_factory=lambda: HostSlots(0))
    #: This node's tracing, or None (the default) when it is off.
    tracing: Tracing | None = None
    #: Lambda and SQS targets; None: this node sends none (such a delivery fails).
    aws: AwsTargets | None = None
    #: Awaited at the last moment before the request leaves, in its host slot: raises
    #: ``NotOurs`` when the delivery must not be sent (its lease was taken over).
    before_send: Callable[[ClaimedDelivery], Awaitable[None]] | None = None


class NotOurs(Exception):
    """The delivery's lease is no longer this node's: it was not sent (``before_send``)."""


def _policy(item: ClaimedDelivery) -> RetryPolicy:
    try:
        return effective_policy(item.action_retry_policy, item.event_retry_policy)
    except ValidationFailed as exc:
        log.warning(
            "stored retry policy invalid; using defaults", delivery_id=item.id, error=str(exc)
        )
        return RetryPolicy()


class SigningUnavailable(Exception):
    """The signer failed (store unreachable, a key missing): retry later, never send unsigned."""


def _our_headers(item: ClaimedDelivery, now: datetime) -> dict[str, str]:
    return delivery_headers(
        delivery_id=item.id,
        service=item.service,
        event_key=item.event_key,
        scheduled_for=item.scheduled_for,
        attempt=item.attempt_number,
        now=now,
    )


async def _request(
    item: ClaimedDelivery, now: datetime, signer: RequestSigner | None, span: AttemptSpan | None
) -> OutboundRequest:
    request = build_request(item.target_type, item.target, item.payload, item.params)
    ours = _our_headers(item, now)
    if span is not None:
        ours.update(span.headers())
        span.request(request)
    stamped = with_headers(request, ours)
    if signer is None:
        return stamped
    try:
        return await signed(stamped, signer, service=item.service)
    except Exception as exc:
        # Only the type and the key id (SecretDecryptionFailed) are shown: never a value.
        log.warning("signing failed", delivery_id=item.id, error=type(exc).__name__)
        raise SigningUnavailable(f"could not sign the request ({type(exc).__name__})") from exc


def _outcome(
    item: ClaimedDelivery, started: datetime, response: Response, decision: Decision
) -> Outcome:
    error = response.error
    if error is None and response.graphql_errors:
        error = "GraphQL response has errors"
    if decision.reason and decision.verdict is Verdict.DEAD:
        error = f"{error}; {decision.reason}" if error else decision.reason
    finished = decision.verdict is not Verdict.RETRY
    return Outcome(
        delivery_id=item.id,
        lease_token=item.lease_token,
        attempt=item.attempt_number,
        status=decision.verdict.value,
        next_attempt_at=decision.next_attempt_at or item.next_attempt_at,
        started_at=started,
        latency_ms=response.latency_ms,
        status_code=response.status_code,
        attempt_outcome=(
            AttemptOutcome.SUCCEEDED
            if decision.verdict is Verdict.SUCCEEDED
            else AttemptOutcome.FAILED
        ),
        response_excerpt=response.excerpt,
        error=error,
        finished_at=started if finished else None,
    )


def _result(response: Response, now: datetime) -> AttemptResult:
    return AttemptResult(
        status_code=response.status_code,
        error=response.error,
        retry_after_seconds=parse_retry_after(response.retry_after, now),
        failed_despite_status=response.failed_despite_status,
    )


def _observe(tools: AttemptTools, item: ClaimedDelivery, response: Response, late: float) -> None:
    tools.metrics.lateness.observe(max(late, 0.0))
    tools.metrics.attempts.labels(status_class(response.status_code)).inc()
    tools.metrics.attempt_latency.observe(response.latency_ms / 1000)


async def _response(
    tools: AttemptTools, item: ClaimedDelivery, started: datetime, span: AttemptSpan | None
) -> Response:
    """What the target answered; a failure to sign is an error response (retried later)."""
    if item.target_type in AWS_TARGET_KINDS:
        response = await _aws_response(tools, item, started)
        _observe(tools, item, response, (started - item.next_attempt_at).total_seconds())
    else:
        try:
            request = await _request(item, started, tools.signer, span)
        except SigningUnavailable as exc:
            response = Response(None, 0, None, error=str(exc), error_type="signing_unavailable")
        else:
            response = await _send_in_host_slot(tools, item, request)
            _observe(tools, item, response, (started - item.next_attempt_at).total_seconds())
    if span is not None:
        span.response(response)
    return response


async def _send_in_host_slot(
    tools: AttemptTools, item: ClaimedDelivery, request: OutboundRequest
) -> Response:
    """Send within the service's share of the target host.

    The wait for a share is bounded by the call's own timeout, as the wait for a pooled
    connection was: a share that stays full (the service's target hangs) fails this
    attempt as a timeout, retried by the policy, and costs other services nothing.
    """
    wait = request.timeout_seconds or tools.session.timeout.total
    began = time.perf_counter()
    try:
        async with tools.host_slots.slot(slot_key(item.service, request.url), wait=wait):
            if tools.before_send is not None:
                await tools.before_send(item)
            return await send(
                tools.session,
                request,
                excerpt_bytes=tools.excerpt_bytes,
                connect_timeout=tools.connect_timeout,
            )
    except NoFreeHostSlot as exc:
        waited = int((time.perf_counter() - began) * 1000)
        return Response(None, waited, None, error=str(exc), error_type="host_slot_timeout")


async def _aws_response(tools: AttemptTools, item: ClaimedDelivery, started: datetime) -> Response:
    """A Lambda invoke or SQS send, if the service's grant still covers it.

    Checked again here, not only at the API: a row stored before the operator withdrew
    the grant is refused (final, like a refused address) instead of being called.
    """
    assert item.target_type is not None
    call = build_aws_call(
        item.target_type,
        item.target,
        item.params,
        _our_headers(item, started),
        service=item.service,
        event_key=item.event_key,
    )
    if tools.aws is None:
        error = "this node sends no Lambda or SQS targets"
        return Response(None, 0, None, error=error, error_type="aws_targets_off")
    problem = tools.aws.policy.problem(item.service, call.kind, call.destination)
    if problem is not None:
        return Response(None, 0, None, error=problem, denied=True, error_type="destination_denied")
    return await _send_aws_in_slot(tools, tools.aws, item, call)


async def _send_aws_in_slot(
    tools: AttemptTools, aws: AwsTargets, item: ClaimedDelivery, call: AwsCall
) -> Response:
    """As ``_send_in_host_slot``: a hanging function or queue holds its own service's
    share of it, never another service's."""
    key: SlotKey = (item.service, call.kind, call.destination, None)
    wait = call.timeout_seconds or aws.total_timeout
    began = time.perf_counter()
    try:
        async with tools.host_slots.slot(key, wait=wait):
            if tools.before_send is not None:
                await tools.before_send(item)
            return await aws.send(call)
    except NoFreeHostSlot as exc:
        waited = int((time.perf_counter() - began) * 1000)
        return Response(None, waited, None, error=str(exc), error_type="host_slot_timeout")


async def attempt(tools: AttemptTools, item: ClaimedDelivery) -> Outcome:
    """Send ``item`` once and return its outcome; never raises for a target's fault.

    Untraced (the default), this is the attempt and nothing else: one check, no span
    object. Traced, the attempt runs inside its CLIENT span, and a final outcome also
    exports the delivery's occurrence span (``observability.otel``).
    """
    if tools.tracing is None:
        return await _attempt(tools, item, None)
    with tools.tracing.attempt(item) as span:
        outcome = await _attempt(tools, item, span)
        span.outcome(outcome)
    if outcome.finished_at is not None:
        tools.tracing.occurrence_finished(item, outcome)
    return outcome


async def _attempt(tools: AttemptTools, item: ClaimedDelivery, span: AttemptSpan | None) -> Outcome:
    started = tools.clock.now()
    try:
        response = await _response(tools, item, started, span)
    except UnsendableTarget as exc:
        response = Response(None, 0, None, error=str(exc), error_type="unsendable_target")
        if span is not None:
            span.response(response)
        decision = Decision(Verdict.DEAD, reason="target cannot be sent")
        return _outcome(item, started, response, decision)
    if response.denied:
        return _outcome(item, started, response, Decision(Verdict.DEAD, reason=DENIED_IS_FINAL))
    now = tools.clock.now()
    decision = decide(
        _policy(item),
        _result(response, now),
        attempts_used=item.attempt_number - item.attempt_base,
        age_origin=item.redriven_at or item.scheduled_for,
        now=now,
        rng=tools.rng,
    )
    return _outcome(item, started, response, decision)
