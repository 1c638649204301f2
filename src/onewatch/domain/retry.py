"""When a failed delivery is tried again, and when it is given up (pure, no I/O).

Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): the
n-th retry waits a uniformly random time between the policy's minimum and
``min * 2**(n-1)`` capped at the maximum, so a burst of failures against one target
spreads out instead of coming back in lock-step. ``Retry-After`` from the target is a
floor. Randomness is injected so tests can pin it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

from onewatch.domain.statuses import DeliveryStatus
from onewatch.errors import ValidationFailed

#: 4xx statuses that say "later", not "never".
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})

_FIELDS = {
    "maxAttempts": "max_attempts",
    "minBackoffSeconds": "min_backoff_seconds",
    "maxBackoffSeconds": "max_backoff_seconds",
    "maxAgeSeconds": "max_age_seconds",
}


class Random(Protocol):
    """The one method of ``random.Random`` the policy needs."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, how far apart, and for how long a delivery is retried."""

    max_attempts: int = 5
    min_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0
    max_age_seconds: float = 86400.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValidationFailed("must be at least 1", field="retryPolicy.maxAttempts")
        if self.min_backoff_seconds < 0:
            raise ValidationFailed("must not be negative", field="retryPolicy.minBackoffSeconds")
        if self.max_backoff_seconds < self.min_backoff_seconds:
            raise ValidationFailed(
                "must not be below minBackoffSeconds", field="retryPolicy.maxBackoffSeconds"
            )
        if self.max_age_seconds <= 0:
            raise ValidationFailed("must be positive", field="retryPolicy.maxAgeSeconds")

    def overlaid(self, document: Mapping[str, Any] | None) -> RetryPolicy:
        """This policy with the fields ``document`` (the API's camelCase JSON) sets."""
        if not document:
            return self
        changes: dict[str, Any] = {}
        for name, value in document.items():
            if name not in _FIELDS:
                raise ValidationFailed("unknown field", field=f"retryPolicy.{name}")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationFailed("must be a number", field=f"retryPolicy.{name}")
            changes[_FIELDS[name]] = value
        if "max_attempts" in changes:
            changes["max_attempts"] = int(changes["max_attempts"])
        return replace(self, **changes)

    def backoff_seconds(self, retry_number: int, rng: Random) -> float:
        """The wait before retry ``retry_number`` (1 = the first retry)."""
        ceiling = self.min_backoff_seconds * 2.0 ** min(retry_number - 1, 62)
        ceiling = min(max(ceiling, self.min_backoff_seconds), self.max_backoff_seconds)
        return rng.uniform(self.min_backoff_seconds, ceiling)


def effective_policy(*documents: Mapping[str, Any] | None) -> RetryPolicy:
    """Defaults, overlaid by each document in turn (action's, then event's)."""
    policy = RetryPolicy()
    for document in documents:
        policy = policy.overlaid(document)
    return policy


class Verdict(StrEnum):
    """What one attempt leaves its delivery as: each verdict is a delivery status."""

    SUCCEEDED = DeliveryStatus.SUCCEEDED
    RETRY = DeliveryStatus.RETRYING
    DEAD = DeliveryStatus.DEAD


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt returned: an HTTP status, or an error before one arrived."""

    status_code: int | None
    error: str | None = None
    retry_after_seconds: float | None = None
    #: A 2xx that still failed (a GraphQL response with ``errors``).
    failed_despite_status: bool = False

    @property
    def succeeded(self) -> bool:
        code = self.status_code
        return code is not None and 200 <= code < 300 and not self.failed_despite_status

    @property
    def final_failure(self) -> bool:
        """A failure that retrying cannot fix (a 4xx other than 408, 425, 429)."""
        code = self.status_code
        return code is not None and 400 <= code < 500 and code not in RETRYABLE_CLIENT_STATUSES


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None = None
    reason: str | None = None


def decide(
    policy: RetryPolicy,
    result: AttemptResult,
    *,
    attempts_used: int,
    age_origin: datetime,
    now: datetime,
    rng: Random,
) -> Decision:
    """What happens after an attempt: done, retry at an instant, or dead (and why)."""
    if result.succeeded:
        return Decision(Verdict.SUCCEEDED)
    if result.final_failure:
        return Decision(Verdict.DEAD, reason=f"HTTP {result.status_code} is final")
    if attempts_used >= policy.max_attempts:
        return Decision(Verdict.DEAD, reason=f"gave up after {attempts_used} attempts")
    delay = policy.backoff_seconds(attempts_used, rng)
    if result.retry_after_seconds is not None:
        delay = max(delay, result.retry_after_seconds)
    next_at = now + timedelta(seconds=delay)
    if (next_at - age_origin).total_seconds() > policy.max_age_seconds:
        return Decision(Verdict.DEAD, reason=f"older than {policy.max_age_seconds:g} s")
    return Decision(Verdict.RETRY, next_attempt_at=next_at)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def system_random() -> Random:
    """The production source of jitter."""
    return random.Random()
