"""The retry policy: backoff bounds, Retry-After, final statuses, attempts and age."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onewatch.domain.retry import (
    AttemptResult,
    RetryPolicy,
    Verdict,
    decide,
    effective_policy,
    parse_retry_after,
)
from onewatch.errors import ValidationFailed

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Pinned:
    """Jitter pinned to one end of the range."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


@given(st.integers(min_value=1, max_value=80), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_between_min_and_max(retry: int, seed: int) -> None:
    policy = RetryPolicy(min_backoff_seconds=2, max_backoff_seconds=60)
    wait = policy.backoff_seconds(retry, random.Random(seed))
    assert 2 <= wait <= 60


def test_backoff_ceiling_doubles_until_the_maximum() -> None:
    policy = RetryPolicy(min_backoff_seconds=1, max_backoff_seconds=10)
    ceilings = [policy.backoff_seconds(n, Pinned(high=True)) for n in range(1, 7)]
    assert ceilings == [1, 2, 4, 8, 10, 10]


def _decide(result: AttemptResult, attempts_used: int = 1, **policy: float) -> object:
    return decide(
        RetryPolicy(**policy),  # type: ignore[arg-type]
        result,
        attempts_used=attempts_used,
        age_origin=NOW,
        now=NOW,
        rng=Pinned(high=False),
    )


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_2xx_succeeds(code: int) -> None:
    assert _decide(AttemptResult(code)).verdict is Verdict.SUCCEEDED  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (400, "dead"),
        (404, "dead"),
        (410, "dead"),
        (408, "retrying"),
        (425, "retrying"),
        (429, "retrying"),
        (500, "retrying"),
        (503, "retrying"),
        (302, "retrying"),
    ],
)
def test_which_failures_are_final(code: int, verdict: str) -> None:
    assert _decide(AttemptResult(code)).verdict.value == verdict  # type: ignore[attr-defined]


def test_graphql_errors_in_a_200_are_a_failure() -> None:
    result = AttemptResult(200, failed_despite_status=True)
    assert _decide(result).verdict is Verdict.RETRY  # type: ignore[attr-defined]


def test_retry_after_is_a_floor_and_attempts_end_it() -> None:
    decision = _decide(AttemptResult(429, retry_after_seconds=30), min_backoff_seconds=1)
    assert decision.next_attempt_at == NOW + timedelta(seconds=30)  # type: ignore[attr-defined]
    last = _decide(AttemptResult(500), attempts_used=5, max_attempts=5)
    assert last.verdict is Verdict.DEAD  # type: ignore[attr-defined]


def test_too_old_is_dead() -> None:
    decision = _decide(
        AttemptResult(None, error="timed out"),
        min_backoff_seconds=20,
        max_backoff_seconds=20,
        max_age_seconds=10,
    )
    assert decision.verdict is Verdict.DEAD  # type: ignore[attr-defined]


def test_event_policy_overrides_action_policy_overrides_defaults() -> None:
    policy = effective_policy({"maxAttempts": 3, "maxAgeSeconds": 60}, {"maxAttempts": 7})
    assert policy == RetryPolicy(max_attempts=7, max_age_seconds=60)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"maxAttempts": 0}, "retryPolicy.maxAttempts"),
        ({"maxAttempts": "5"}, "retryPolicy.maxAttempts"),
        ({"minBackoffSeconds": 10, "maxBackoffSeconds": 5}, "retryPolicy.maxBackoffSeconds"),
        ({"retries": 3}, "retryPolicy.retries"),
    ],
)
def test_bad_policies_name_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        effective_policy(document)
    assert caught.value.field == field


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Tue, 01 Jan 2030 00:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
