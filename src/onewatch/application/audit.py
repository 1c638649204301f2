"""The audit log's entries: who changed what, from which document to which, secrets left out.

Every operation that changes an action, an event, a calendar or a signing secret writes
its entry with ``StoreTransaction.record_audits`` in the transaction of the change, so
the entry commits with the change or not at all. ``before``/``after`` are the documents as
the API shows them (``application.render``), with what looks secret replaced by
``REDACTED``: the values of headers whose name looks like a credential
(``Authorization``, ``X-Api-Key``, ``Cookie``...), a password in an endpoint's URL and
query parameters that look like credentials. Signing secrets never appear at all:
their entries hold ids and lifetimes only. A request body (``params.body``) is kept as
the API shows it: its meaning is the tenant's, not ours to guess.

An operation that changes nothing (a PUT of the same document, pausing a paused event)
writes no entry.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from onewatch.application.render import action_json, event_json
from onewatch.ports import StoreTransaction
from onewatch.security.tokens import Principal
from onewatch.store.records import AuditEntry, JsonText, StoredRow

__all__ = [
    "REDACTED",
    "SYSTEM",
    "Actor",
    "AuditEntry",
    "action_document",
    "audit_change",
    "cli_actor",
    "entry",
    "event_document",
    "redact_document",
]

REDACTED = "[redacted]"

#: A header or query parameter whose name contains one of these carries a credential.
_SECRET_NAME = re.compile(
    r"auth|token|secret|passw|api[-_]?key|cookie|signature|credential|session|private",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: the token's subject, its scope, and the front door it used."""

    subject: str
    #: ``service`` or ``admin``.
    scope: str = "service"
    #: ``api``, ``ui``, ``cli`` or ``system``.
    via: str = "api"

    @classmethod
    def of(cls, principal: Principal, via: str = "api") -> Actor:
        return cls(principal.service, "admin" if principal.admin else "service", via)


#: The node itself (a service's first signing secret, made when it first sends).
SYSTEM = Actor("onewatch", "admin", "system")


def cli_actor() -> Actor:
    """``onewatch import`` has no token: the operating-system user who ran it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        user = "unknown"
    return Actor(f"os:{user}", "admin", "cli")


def looks_secret(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def redact_headers(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    """The headers with credential-looking values replaced; the same object when none."""
    if not any(looks_secret(name) for name in headers):
        return headers
    return {name: REDACTED if looks_secret(name) else value for name, value in headers.items()}


@lru_cache(maxsize=4096)  # a few endpoints serve most events
def redact_endpoint(endpoint: str) -> str:
    """The URL with a password in it and credential-like query values replaced.

    The rest is kept byte for byte (a placeholder such as ``<id>`` stays as written).
    """
    try:
        parts = urlsplit(endpoint)
        password = parts.password
    except ValueError:  # not a URL we can take apart: shown as the API shows it
        return endpoint
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{host}"
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&"))
    if netloc == parts.netloc and query == parts.query:
        return endpoint
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_pair(pair: str) -> str:
    name, equals, _value = pair.partition("=")
    return f"{name}={REDACTED}" if equals and looks_secret(unquote_plus(name)) else pair


def _redact_target(target: Any) -> Any:
    """A webhook or GraphQL target with its credentials replaced (a copy; the same object
    when there are none, so a create without secrets copies nothing)."""
    if not isinstance(target, dict):
        return target
    endpoint, headers = target.get("endpoint"), target.get("headers")
    safe_endpoint = redact_endpoint(endpoint) if isinstance(endpoint, str) else endpoint
    safe_headers = redact_headers(headers) if isinstance(headers, dict) else headers
    if safe_endpoint is endpoint and safe_headers is headers:
        return target
    safe = dict(target)
    if safe_endpoint is not endpoint:
        safe["endpoint"] = safe_endpoint
    if safe_headers is not headers:
        safe["headers"] = safe_headers
    return safe


def redact_document(document: dict[str, Any]) -> dict[str, Any]:
    """An action's or event's API document with what looks secret replaced: a copy, or
    the document itself when nothing in it looks secret."""
    changes: dict[str, Any] = {}
    for kind in ("webhook", "graphql"):
        target = document.get(kind)
        if target is not None and (safe := _redact_target(target)) is not target:
            changes[kind] = safe
    params = document.get("params")
    if isinstance(params, dict) and params.get("header"):
        header = params["header"]
        if (safe_header := redact_headers(header)) is not header:
            changes["params"] = {**params, "header": safe_header}
    return {**document, **changes} if changes else document


def action_document(row: StoredRow) -> dict[str, Any]:
    return redact_document(action_json(row))


def event_document(row: StoredRow) -> dict[str, Any]:
    return redact_document(event_json(row))


def entry(
    actor: Actor,
    at: datetime,
    target: tuple[str, str, str],
    action: str,
    before: Mapping[str, Any] | JsonText | None = None,
    after: Mapping[str, Any] | JsonText | None = None,
) -> AuditEntry:
    """An entry for ``target`` = (service, resource type, key), documents already safe."""
    service, resource_type, key = target
    return AuditEntry(
        service, resource_type, key, action, actor.subject, actor.scope, actor.via, at,
        before, after,
    )  # fmt: skip


async def audit_change(
    tx: StoreTransaction,
    actor: Actor,
    at: datetime,
    target: tuple[str, str, str],
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a change in the caller's transaction; ``before``/``after`` are redacted here.

    For a new kind of resource (calendars): pass its API documents as they are.
    """
    safe_before = None if before is None else redact_document(before)
    safe_after = None if after is None else redact_document(after)
    await tx.record_audits([entry(actor, at, target, action, safe_before, safe_after)])
