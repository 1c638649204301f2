"""The grammar of service names and item keys, the one place it is written down.

A service name travels in a token's ``sub``, in URL paths (``/v1/events/{service}/{key}``,
``/v1/services/{service}/...``) and in the ``Onewatch-Event: service/key`` header, so it
is kept to letters, digits, ``.``, ``_`` and ``-``, starting with a letter or a digit:
no ``/`` to split a path, no ``.``/``..`` for a client to normalise away, nothing to
percent-encode. Keys come from the original system's documents and stay lenient (any
text but ``/``, whitespace and control characters), except ``.`` and ``..``, which an
HTTP client removes from a path, so such an item could never be read or deleted.
"""

from __future__ import annotations

import re

from onewatch.errors import ValidationFailed

MAX_SERVICE_LENGTH = 100
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SERVICE_NAME_RULE = (
    "must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or a digit"
)

_UNSAFE_IN_KEY = re.compile(r"[/\s\x00-\x1f\x7f]")
DOT_SEGMENTS = frozenset({".", ".."})


def service_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid service name, or None when it is one."""
    if len(name) > MAX_SERVICE_LENGTH or not SERVICE_NAME.fullmatch(name):
        return SERVICE_NAME_RULE
    return None


def checked_service_name(name: str, *, field: str = "service") -> str:
    """``name``, or ``ValidationFailed`` naming ``field`` (minting, the CLI)."""
    problem = service_name_problem(name)
    if problem is not None:
        raise ValidationFailed(f"{name!r} {problem}", field=field)
    return name


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be one URL path segment, or None when it can."""
    if _UNSAFE_IN_KEY.search(key):
        return "must not contain '/', whitespace or control characters"
    if key in DOT_SEGMENTS:
        return "must not be '.' or '..' (an HTTP client drops them from a path)"
    return None
