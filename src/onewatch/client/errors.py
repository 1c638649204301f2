"""The API's error answers as exception types, carrying the server's field and message.

Every failure the server reports has one shape, ``{"error", "message", "errors":
[{"field", "reason"}]}``; each HTTP status becomes its own type so callers catch what
they can handle (``except NotFound``). Each type also derives from the matching
``onewatch.errors`` class, so code that already handles Onewatch's own errors (the CLI)
handles these too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from onewatch import errors

#: Longest slice of a non-JSON error body (a proxy's HTML page) kept in the message.
_EXCERPT = 200


@dataclass(frozen=True)
class FieldError:
    """One input the server refused: the dotted field path and why."""

    field: str
    reason: str


class ClientError(errors.OnewatchError):
    """A request that could not be made as asked (no service to address, bad setup)."""


class ConnectionFailed(ClientError):
    """The server could not be reached, or did not answer in time."""


class ApiError(errors.OnewatchError):
    """The server answered with an error status; ``str(error)`` is its message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field_errors: Sequence[FieldError] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.errors = tuple(field_errors)
        self.field = field_errors[0].field if field_errors else None
        self.retry_after = retry_after


class InvalidRequest(ApiError, errors.ValidationFailed):
    """400, 413 or 422: the input breaks a rule; ``errors`` names each field."""


class AuthenticationFailed(ApiError, errors.Unauthorized):
    """401: the token is missing, invalid or expired."""


class PermissionDenied(ApiError, errors.Forbidden):
    """403: the token may not act for that service."""


class NotFound(ApiError, errors.NotFound):
    """404: no such item (or it belongs to a service the token may not see)."""


class Conflict(ApiError, errors.Conflict):
    """409: the key exists, the item is in use, or it changed under the request."""


class RateLimited(ApiError):
    """429: over the service's quota; ``retry_after`` says when to try again (seconds)."""


class ServerError(ApiError):
    """5xx: the server failed; the request may be retried."""


class UnexpectedAnswer(ApiError):
    """A success status whose body is not the document the API answers with."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def _error_type(status_code: int) -> type[ApiError]:
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return ServerError if status_code >= 500 else ApiError


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body
    excerpt = response.text[:_EXCERPT].strip() or response.reason_phrase
    return {"error": "http_error", "message": f"HTTP {response.status_code}: {excerpt}"}


def _field_errors(items: Any) -> list[FieldError]:
    if not isinstance(items, list):
        return []
    return [
        FieldError(str(item.get("field", "")), str(item.get("reason", "")))
        for item in items
        if isinstance(item, dict)
    ]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error for an error answer (any non-2xx response)."""
    body = _body(response)
    return _error_type(response.status_code)(
        response.status_code,
        str(body.get("error", "http_error")),
        body["message"],
        _field_errors(body.get("errors")),
        _retry_after(response),
    )


__all__ = [
    "ApiError",
    "AuthenticationFailed",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "FieldError",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "UnexpectedAnswer",
    "error_from_response",
]
