"""Verifying Onewatch's webhook calls in a Python service that receives them.

Onewatch signs every call the Standard Webhooks way (see ``onewatch.delivery.signing``,
whose HMAC this module reuses). A receiver checks, before trusting a body, that:

- the three headers are there (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``);
- the timestamp is within ``tolerance`` of now, so a captured request cannot be replayed
  later;
- one of the ``v1,`` signatures is the HMAC of ``id.timestamp.body`` under the secret.

The official ``standardwebhooks`` package does the same check but fixes the tolerance at
five minutes, decodes the body as text and reads the wall clock itself; this one takes the
raw bytes, a tolerance and, for tests, ``now``. Both accept the same headers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from onewatch.delivery.signing import sign

DEFAULT_TOLERANCE = timedelta(minutes=5)
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Headers(Protocol):
    """A dict, Starlette's or Werkzeug's headers: anything with ``items()``."""

    def items(self) -> Iterable[tuple[str, str]]: ...


class InvalidWebhook(ValueError):
    """The call is not proven to come from Onewatch: answer it with 400 or 401."""


@dataclass(frozen=True)
class VerifiedWebhook:
    """A call that passed: its id (the delivery id, the same on every retry: drop repeats
    by it) and the instant the attempt was signed."""

    id: str
    timestamp: datetime


def _lowered(headers: Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() in _HEADERS}


def _required(headers: Headers) -> tuple[str, str, str]:
    found = _lowered(headers)
    missing = [name for name in _HEADERS if not found.get(name)]
    if missing:
        raise InvalidWebhook(f"missing header(s): {', '.join(missing)}")
    return found["webhook-id"], found["webhook-timestamp"], found["webhook-signature"]


def _checked_timestamp(text: str, now: datetime, tolerance: timedelta) -> datetime:
    if not (text.isascii() and text.isdigit()):
        raise InvalidWebhook("webhook-timestamp is not a number of seconds")
    moment = datetime.fromtimestamp(int(text), tz=UTC)
    if moment < now - tolerance:
        raise InvalidWebhook("webhook-timestamp is too old")
    if moment > now + tolerance:
        raise InvalidWebhook("webhook-timestamp is in the future")
    return moment


def _matches(expected: str, offered: str) -> bool:
    return any(
        hmac.compare_digest(expected.encode(), candidate.encode())
        for candidate in offered.split()
        if candidate.startswith("v1,")
    )


def verify(
    headers: Headers,
    body: bytes | str,
    secret: str | Sequence[str],
    *,
    tolerance: timedelta | float = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> VerifiedWebhook:
    """Check a received call; raise ``InvalidWebhook`` unless Onewatch signed this body.

    ``body`` is the raw request body, exactly as received (parse JSON only afterwards).
    ``secret`` is the service's ``whsec_...`` signing secret, or several during a rotation.
    ``tolerance`` (a timedelta or seconds) bounds how far the timestamp may be from ``now``.
    """
    message_id, timestamp, offered = _required(headers)
    window = tolerance if isinstance(tolerance, timedelta) else timedelta(seconds=tolerance)
    moment = _checked_timestamp(timestamp, now or datetime.now(UTC), window)
    raw = body.encode() if isinstance(body, str) else body
    secrets = [secret] if isinstance(secret, str) else list(secret)
    # A malformed secret raises InvalidSigningSecret: the receiver's setup is wrong, not the call.
    expected = [sign(each, message_id, int(timestamp), raw) for each in secrets]
    if not any(_matches(signature, offered) for signature in expected):
        raise InvalidWebhook("no signature matches the secret")
    return VerifiedWebhook(message_id, moment)


__all__ = ["DEFAULT_TOLERANCE", "Headers", "InvalidWebhook", "VerifiedWebhook", "verify"]
