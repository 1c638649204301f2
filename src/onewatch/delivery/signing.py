"""Standard Webhooks 1.0 signatures, so a receiver can prove a call came from Onewatch.

Every webhook and GraphQL request carries ``webhook-id`` (the delivery id, stable across
retries, so a receiver can drop duplicates), ``webhook-timestamp`` (Unix seconds of this
attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``,
one per active secret, space separated, so during a rotation receivers holding either
the old or the new secret accept the call. The HMAC is the standard library's; the
official ``standardwebhooks`` package verifies these headers in the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"
#: Random bytes in a new secret (the specification asks for 24 to 64).
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24


class InvalidSigningSecret(ValueError):
    """A secret that is not ``whsec_`` + base64 of at least 24 bytes."""


def generate_secret() -> str:
    """A new secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside ``secret`` (checked, so a bad one fails loudly, never weakly)."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSigningSecret(f"a signing secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise InvalidSigningSecret("a signing secret is base64 after its prefix") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidSigningSecret(f"a signing secret holds at least {MIN_SECRET_BYTES} bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry over ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secrets_in_use: Sequence[str], message_id: str, timestamp: datetime | int, body: bytes
) -> dict[str, str]:
    """The three headers for one request, signed with every active secret.

    ``timestamp`` is the attempt's send time (an aware datetime or Unix seconds): the
    receiver rejects stale ones, so it must be taken per attempt, not per delivery.
    """
    if not secrets_in_use:
        raise InvalidSigningSecret("no active signing secret to sign with")
    seconds = _unix_seconds(timestamp)
    signatures = " ".join(sign(secret, message_id, seconds, body) for secret in secrets_in_use)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": signatures,
    }


def _unix_seconds(timestamp: datetime | int) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("naive datetime: a webhook timestamp needs a time zone")
        return int(timestamp.timestamp())
    return int(timestamp)


__all__ = [
    "InvalidSigningSecret",
    "generate_secret",
    "secret_key",
    "sign",
    "signature_headers",
]
