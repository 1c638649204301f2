"""A deterministic offset per occurrence, so that events sharing a pattern spread out.

The offset is a hash of the event's identity and the occurrence's nominal instant, never
random state: every node, every recomputation (a second scheduler, the preview) and every
retry agree on it, and the occurrence keeps its nominal instant as its identity, so
deduplication is unchanged. It is never negative: a jittered delivery is never early.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

#: The largest jitter an event may ask for.
MAX_JITTER_SECONDS = 86_400
_MICROS = 1_000_000


def _digest(service: str, key: str, nominal: datetime) -> int:
    # NUL cannot occur in a service name or key, so distinct identities never collide.
    stamp = nominal.astimezone(UTC).isoformat()
    text = f"{service}\0{key}\0{stamp}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def jitter_offset(service: str, key: str, nominal: datetime, jitter_seconds: int) -> timedelta:
    """The offset in [0, ``jitter_seconds``] (microsecond steps) of this occurrence."""
    if jitter_seconds <= 0:
        return timedelta(0)
    span = jitter_seconds * _MICROS + 1
    return timedelta(microseconds=_digest(service, key, nominal) % span)


def jittered(service: str, key: str, nominal: datetime, jitter_seconds: int) -> datetime:
    """When the occurrence at ``nominal`` is due to be sent: nominal plus its offset."""
    return nominal + jitter_offset(service, key, nominal, jitter_seconds)
