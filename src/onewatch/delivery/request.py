"""Turning an event's target and params into one HTTP request (pure, no I/O).

Webhook: the action's method and headers merged with the event's ``params.header``; the
endpoint's ``<name>`` / ``{name}`` placeholders filled from ``params.url``, each value
percent-encoded once (``delivery.url_values``, which also refuses dot segments);
a JSON body from ``params.body`` (none for GET and HEAD). GraphQL: a POST of
``{"query", "variables"}`` with the action's ``payload`` overlaid by ``params.body``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from onewatch.delivery.url_values import encode_url_value, url_value_problem

_PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_.-]*)>|\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_BODYLESS_METHODS = frozenset({"GET", "HEAD"})
#: The longest an action's own ``timeout`` may hold a request (the API's bound too): a
#: stored or imported target asking for more gets this, so no send holds its lease,
#: its service's slot and a pooled connection for longer.
MAX_ACTION_TIMEOUT_SECONDS = 300.0


class UnsendableTarget(ValueError):
    """The stored target cannot make a request; retrying will not help."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    #: The action's own timeout in seconds, when it sets one (at most
    #: ``MAX_ACTION_TIMEOUT_SECONDS``); None sends with the configured default.
    timeout_seconds: float | None = None
    is_graphql: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def fill_endpoint(template: str, values: Mapping[str, Any]) -> str:
    """Replace each placeholder with its encoded value; a missing or refused one is an error."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise UnsendableTarget(f"endpoint placeholder {match.group(0)} has no params.url value")
        problem = url_value_problem(values[name])
        if problem is not None:
            raise UnsendableTarget(f"params.url.{name} {problem}")
        return encode_url_value(values[name])

    return _PLACEHOLDER.sub(substitute, template)


def _json_bytes(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _timeout(target: Mapping[str, Any]) -> float | None:
    value = target.get("timeout")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None  # unset or meaningless: the sender applies the configured default
    return min(float(value), MAX_ACTION_TIMEOUT_SECONDS)


def _string_headers(*sources: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for source in sources:
        if isinstance(source, Mapping):
            merged.update({str(name): str(value) for name, value in source.items()})
    return merged


def _endpoint(target: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    endpoint = target.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise UnsendableTarget("target has no endpoint")
    url_values = params.get("url") or {}
    return fill_endpoint(endpoint, url_values if isinstance(url_values, Mapping) else {})


def _webhook(target: Mapping[str, Any], params: Mapping[str, Any]) -> OutboundRequest:
    method = str(target.get("method") or "POST").upper()
    headers = _string_headers(target.get("headers"), params.get("header"))
    body = None
    if method not in _BODYLESS_METHODS and params.get("body") is not None:
        body = _json_bytes(params["body"])
        headers.setdefault("Content-Type", "application/json")
    return OutboundRequest(method, _endpoint(target, params), headers, body, _timeout(target))


def _graphql(
    target: Mapping[str, Any], payload: Mapping[str, Any], params: Mapping[str, Any]
) -> OutboundRequest:
    query = target.get("query")
    if not isinstance(query, str) or not query.strip():
        raise UnsendableTarget("graphql target has no query")
    overrides = params.get("body")
    variables = {**payload, **(overrides if isinstance(overrides, Mapping) else {})}
    headers = _string_headers(target.get("headers"), params.get("header"))
    headers["Content-Type"] = "application/json"
    body = _json_bytes({"query": query, "variables": variables})
    url = _endpoint(target, params)
    return OutboundRequest("POST", url, headers, body, _timeout(target), is_graphql=True)


def build_request(
    target_type: str | None,
    target: Mapping[str, Any] | None,
    payload: Mapping[str, Any],
    params: Mapping[str, Any],
) -> OutboundRequest:
    """The request for one delivery; ``UnsendableTarget`` when the target cannot make one."""
    if target is None or target_type is None:
        raise UnsendableTarget("the event's action no longer exists")
    if target_type == "webhook":
        return _webhook(target, params)
    if target_type == "graphql":
        return _graphql(target, payload, params)
    raise UnsendableTarget(f"unknown target type {target_type!r}")
