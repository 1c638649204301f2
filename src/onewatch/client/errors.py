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
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``: delay-seconds or an HTTP date
    (RFC 9110 10.2.3); None when absent or unreadable. A date in the past is 0."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error for an error answer (any non-2xx response)."""
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    return error_from_body(response.status_code, _body(response), retry_after)


def error_from_body(
    status_code: int, body: dict[str, Any], retry_after: float | None = None
) -> ApiError:
    """The typed error for an error document (a response's, or a batch item's)."""
    return _error_type(status_code)(
        status_code,
        str(body.get("error", "http_error")),
        str(body.get("message", f"HTTP {status_code}")),
        _field_errors(body.get("errors")),
        retry_after,
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
    "error_from_body",
    "error_from_response",
    "retry_after_seconds",
]
