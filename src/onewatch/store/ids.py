"""Delivery ids: text, unique across nodes and databases, ordered by creation time.

The id travels as the ``webhook-id`` header, so it must not be a per-database counter.
The first 12 hex digits are the creation time in milliseconds (new rows land at the end
of the primary key's b-tree, and ``ORDER BY id`` is creation order), the rest random.
"""

from __future__ import annotations

import secrets
import time


def new_delivery_id() -> str:
    """``msg_`` + 12 hex digits of Unix milliseconds + 20 random hex digits."""
    return f"msg_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def new_lease_token() -> str:
    return secrets.token_hex(16)
