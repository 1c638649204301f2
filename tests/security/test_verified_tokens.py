"""A checked token is remembered briefly, never past its expiry, and only with a static key."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from onewatch.errors import Unauthorized
from onewatch.security.tokens import VERIFIED_TOKEN_SECONDS, TokenVerifier, mint_token

SECRET = secrets.token_urlsafe(48)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_token_checked_once_is_remembered_until_a_minute_at_most() -> None:
    clock = Clock()
    verifier = TokenVerifier(secret=SECRET, clock=clock)
    token = mint_token(SECRET, "alpha", ttl=timedelta(hours=1))
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert first.service == "alpha"
    principal, until = verifier._verified[token]
    assert principal == first
    assert until == pytest.approx(clock.now + VERIFIED_TOKEN_SECONDS)


def test_a_remembered_token_lapses_at_its_expiry() -> None:
    clock = Clock()
    verifier = TokenVerifier(secret=SECRET, clock=clock, leeway_seconds=0)
    issued = datetime.now(UTC) - timedelta(minutes=59, seconds=50)
    token = mint_token(SECRET, "alpha", ttl=timedelta(hours=1), now=issued)
    verifier.verify(token)
    _, until = verifier._verified[token]
    assert until == pytest.approx((issued + timedelta(hours=1)).timestamp())
    # Past the expiry the token is checked again, and the real check refuses it.
    expired = mint_token(SECRET, "alpha", ttl=timedelta(seconds=1), now=issued)
    verifier._verified[expired] = verifier._verified[token]
    clock.now = until + 1
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(expired)


def test_a_bad_token_is_never_remembered() -> None:
    verifier = TokenVerifier(secret=SECRET)
    forged = jwt.encode({"sub": "alpha", "exp": time.time() + 60}, "x" * 48, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(forged)
    assert verifier._verified == {}
