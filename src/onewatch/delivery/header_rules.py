"""Which headers a tenant may configure: the one rule set the API and the sender share.

A tenant's webhook ``headers`` and an event's ``params.header`` are added to requests
that Onewatch frames and addresses itself. A header that changes the framing
(``Content-Length``, ``Transfer-Encoding``...), the connection (``Connection``,
``Upgrade``...) or the destination (``Host``, the proxy headers) would let a tenant
smuggle a second request or pass a target's host allow-list, so these names are
refused at the API (422) and dropped, logged, at send time (for rows stored before
the rule). Names must be RFC 9110 tokens and values must hold no control character
but HTAB: a CR or LF would split the header, and the client refuses them anyway, so
such a delivery would only be retried until dead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

#: Lower-case names a tenant may not set: framing, hop-by-hop (RFC 9110 7.6.1),
#: destination and proxy headers, and ``Expect`` (it changes how the body is sent).
FORBIDDEN_HEADER_NAMES = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "expect",
        "http2-settings",
    }
)

#: RFC 9110 5.6.2: ``token = 1*tchar``.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Control characters but HTAB (RFC 9110 5.5: field values hold no CR, LF or NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@lru_cache(maxsize=1024)  # a few names (X-Team, Content-Type...) make most headers
def header_name_problem(name: str) -> str | None:
    """Why a tenant may not configure a header called ``name``, or None."""
    if not _TOKEN.fullmatch(name):
        return "a header name must be an RFC 9110 token (letters, digits, !#$%&'*+-.^_`|~)"
    if name.lower() in FORBIDDEN_HEADER_NAMES:
        return f"{name} is a framing, connection or proxy header, which a tenant may not set"
    return None


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a header value, or None."""
    if _CONTROL.search(value):
        return "a header value must not contain control characters (CR, LF, NUL...)"
    return None


def header_problem(name: str, value: str) -> str | None:
    """The first rule the header ``name: value`` breaks, or None."""
    return header_name_problem(name) or header_value_problem(value)


def sendable_headers(headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the headers that may be sent, the dropped names with the rule each breaks)."""
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem is None:
            kept[name] = value
        else:
            dropped[name] = problem
    return kept, dropped
