"""How an event's ``params.url`` values are written into its endpoint template.

Each value is one piece of the URL (a path segment, or a query value): every
character outside RFC 3986's unreserved set is percent-encoded, exactly once. A
``%XX`` already in the value is taken as encoded (``a%2Fb`` is sent as ``a%2Fb``,
not ``a%252Fb``); a ``%`` that starts no such triplet is encoded as ``%25``. A value
that is, or holds, a dot segment (``.``, ``..``, ``../x``, ``%2e%2e``, however
spelled) is refused: a target or a proxy in front of it resolves dot segments, and
the call would walk up the endpoint's path. The API refuses such a value with 422
and the sender refuses a stored one, with the same rule from here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from onewatch.domain.names import DOT_SEGMENTS

_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SEPARATORS = re.compile(r"[/\\]")


def url_value_text(value: Any) -> str:
    """The text a scalar ``params.url`` value stands for in a URL."""
    return str(value)


def url_value_problem(value: Any) -> str | None:
    """Why ``value`` may not be filled into an endpoint, or None."""
    text = url_value_text(value)
    if "." not in text and "%" not in text:  # most ids: no dot, encoded or not
        return None
    decoded = unquote(text)
    if any(segment in DOT_SEGMENTS for segment in _SEPARATORS.split(decoded)):
        return "must not be or contain a '.' or '..' path segment (it would walk up the path)"
    return None


def encode_url_value(value: Any) -> str:
    """``value`` percent-encoded once, keeping the ``%XX`` triplets it already has."""
    return quote(_LONE_PERCENT.sub("%25", url_value_text(value)), safe="%")
