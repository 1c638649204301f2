"""The OpenAPI document: each operation's error answers, the bearer scheme, the target rule.

FastAPI documents a route's success and a 422 in its own validation shape. Onewatch
answers every failure in one shape (``api.errors``), and which failures an operation can
give follows from what the route depends on (a token, the rate quota, a path item, a
body), so ``install_openapi`` derives them from the routes rather than each route
repeating them: a new route is documented by the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from onewatch.api.deps import current_principal
from onewatch.api.rate_limit import enforce_rate_limit
from onewatch.domain.documents import TARGET_KINDS

ERROR_SCHEMA = "Error"
BEARER_SCHEME = "bearer"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Writes that compute or mint, never racing another writer over a stored item.
_NEVER_CONFLICTS = ("/v1/schedules/", "/v1/services/")
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class ErrorItem(BaseModel):
    field: str = Field(description="The dotted path of the input at fault.")
    reason: str = Field(description="What is wrong with it.")


class Error(BaseModel):
    """Every failure's answer, whatever its status: a code, a sentence, the fields at fault."""

    error: str = Field(description="A stable code: `validation_failed`, `rate_limited`, ...")
    message: str = Field(description="One sentence for a person.")
    errors: list[ErrorItem] = Field(description="Each field at fault; empty when none is.")


_DESCRIPTIONS = {
    400: "The body is not JSON (`malformed_json`).",
    401: "No bearer token, or an invalid or expired one (`unauthorized`).",
    403: "The token may not act for that service, needs the admin scope, or the service is "
    "at its event quota (`forbidden`).",
    404: "No such item, or another service's (`not_found`).",
    409: "The key exists already, the item is in another state or in use, or it changed "
    "during the request (`conflict`).",
    413: "The body is over 256 KiB (`payload_too_large`).",
    422: "A field breaks a rule; `errors` names each field and why (`validation_failed`).",
    429: "The service is over its request rate quota (`rate_limited`); `Retry-After` says "
    "when to try again.",
    503: "The node is not ready: the store is unreachable or not migrated (`not_ready`).",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Whole seconds to wait before the next request.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}

#: JSON Schema for "exactly one target", as the models' validators enforce it. A target
#: given as ``null`` counts as absent, as it does in the models.
_ABSENT = {"type": "null"}


def _absent_except(kind: str | None) -> dict[str, Any]:
    return {other: _ABSENT for other in TARGET_KINDS if other != kind}


def _inline(kind: str) -> dict[str, Any]:
    return {
        "title": f"inline {kind}",
        "required": [kind],
        "properties": {
            **_absent_except(kind),
            kind: {"type": "object"},
            "action": _ABSENT,
            "type": {"enum": [kind, None]},
        },
    }


def _typed(kind: str) -> dict[str, Any]:
    return {
        "title": kind,
        "required": [kind],
        "properties": {**_absent_except(kind), "type": {"const": kind}, kind: {"type": "object"}},
    }


_KINDS_TEXT = ", ".join(f"`{kind}`" for kind in TARGET_KINDS)
_TARGET_RULES: dict[str, dict[str, Any]] = {
    "EventDocument": {
        "description": "Exactly one target: an `action` key of the same service, or an "
        f"inline {_KINDS_TEXT} (whose `type`, if given, must name it).",
        "oneOf": [
            {
                "title": "by action",
                "required": ["action"],
                "properties": {"action": {"type": "string"}, **_absent_except(None)},
            },
            *(_inline(kind) for kind in TARGET_KINDS),
        ],
    },
    "ActionDocument": {
        "description": f"Exactly one target, the one `type` names: {_KINDS_TEXT}.",
        "oneOf": [_typed(kind) for kind in TARGET_KINDS],
    },
}


def body_schema(model: str) -> dict[str, Any]:
    """Document a body taken as a dict (to merge, or to fill from the URL) as ``model``.

    The model's schema is in the document already because the POST route declares it.
    """
    reference = {"$ref": f"#/components/schemas/{model}"}
    content = {"application/json": {"schema": reference}}
    return {"requestBody": {"required": True, "content": content}}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json``) the documented version, once."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = documented(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def documented(spec: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """``spec`` with the error shape, the bearer scheme and each operation's failures."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error_schema
    components["securitySchemes"] = {
        BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    for route in _api_routes(routes):
        if route.include_in_schema:
            for method in route.methods:
                operation = spec["paths"][route.path_format][method.lower()]
                _document_operation(operation, route, method)
    for name, rule in _TARGET_RULES.items():
        if name in schemas:
            schemas[name].update(rule)
    _drop_unused(schemas, _FASTAPI_VALIDATION_SCHEMAS, spec)
    return spec


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """Each API route with its effective settings (path prefix, router dependencies).

    FastAPI from 0.160 keeps an included router as one entry of ``app.routes`` and walks
    it with ``iter_route_contexts``; before, ``app.routes`` held the routes themselves.
    """
    walk: Callable[[list[Any]], Iterable[Any]] | None = getattr(
        fastapi.routing, "iter_route_contexts", None
    )
    for route in walk(routes) if walk is not None else routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _document_operation(operation: dict[str, Any], route: Any, method: str) -> None:
    calls = {dependant.call for dependant in _dependants(route.dependant)}
    if current_principal in calls:
        operation["security"] = [{BEARER_SCHEME: []}]
    responses = operation.setdefault("responses", {})
    for status in error_statuses(route, method, calls, "requestBody" in operation):
        responses[str(status)] = _error_response(status)


def error_statuses(route: Any, method: str, calls: set[Any], has_body: bool) -> list[int]:
    """The failures an operation can answer, from what its route depends on."""
    statuses = []
    if has_body:
        statuses += [400, 413]
    if current_principal in calls:
        statuses += [401, 403]
    if route.dependant.path_params:
        statuses.append(404)
    if method in _WRITES and not route.path_format.startswith(_NEVER_CONFLICTS):
        statuses.append(409)
    if has_body or route.dependant.path_params or route.dependant.query_params:
        statuses.append(422)
    # A route that charges the quota itself (a batch's cost) says so in its ``responses``.
    if enforce_rate_limit in calls or 429 in getattr(route, "responses", {}):
        statuses.append(429)
    if route.path_format == "/readyz":
        statuses.append(503)
    return sorted(statuses)


def _error_response(status: int) -> dict[str, Any]:
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": reference}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def _drop_unused(schemas: dict[str, Any], names: tuple[str, ...], spec: dict[str, Any]) -> None:
    """Remove FastAPI's own validation shapes where nothing refers to them any more."""
    for name in names:
        schema = schemas.pop(name, None)
        if schema is not None and f'"#/components/schemas/{name}"' in json.dumps(spec):
            schemas[name] = schema
