"""One error shape for every failure the API reports, and the request size limit.

``{"error": "validation_failed", "message": "...", "errors": [{"field": ..., "reason": ...}]}``
for 400, 401, 403, 404, 409, 413, 422, 429, 500, 503 and 507 alike, so a client parses
one shape. The store being down is a 503 and the storage being full a 507, both with
``Retry-After`` (``store.failures`` tells them apart); any other unhandled exception is a
500 in the same shape, with its traceback in the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onewatch.domain.field_errors import pydantic_errors
from onewatch.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OnewatchError,
    StorageFull,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from onewatch.store import store_failure

log = structlog.get_logger("onewatch.api")

MAX_BODY_BYTES = 256 * 1024
#: ``POST /v1/events/batch`` carries up to 1,000 documents: 8 KiB each on average.
MAX_BATCH_BODY_BYTES = 8 * 1024 * 1024
#: Routes whose bodies may be larger than ``MAX_BODY_BYTES``.
BODY_LIMITS_BY_PATH = {"/v1/events/batch": MAX_BATCH_BODY_BYTES}

_STATUS: dict[type[OnewatchError], tuple[int, str]] = {
    ValidationFailed: (422, "validation_failed"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    Forbidden: (403, "forbidden"),
    Unauthorized: (401, "unauthorized"),
    TooManyRequests: (429, "rate_limited"),
    StorageFull: (507, "storage_full"),  # before its base class: the first match wins
    StoreUnavailable: (503, "store_unavailable"),
}


def error_body(code: str, message: str, errors: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": code, "message": message, "errors": list(errors)}


def validation_response(errors: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(validation_body(errors), status_code=422)


def validation_body(errors: list[dict[str, str]]) -> dict[str, Any]:
    summary = "; ".join(f"{item['field']}: {item['reason']}" for item in errors)
    return error_body("validation_failed", summary, errors)


async def _onewatch_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OnewatchError)
    return onewatch_error_response(exc)


def onewatch_error_response(exc: OnewatchError) -> JSONResponse:
    """The answer to a refusal of ours: its status, code, message and field."""
    status, body = onewatch_error_parts(exc)
    return JSONResponse(body, status_code=status, headers=_headers(exc, status))


def onewatch_error_parts(exc: OnewatchError) -> tuple[int, dict[str, Any]]:
    """A refusal's status and error body (a batch answers them per item)."""
    status, code = next(
        (pair for kind, pair in _STATUS.items() if isinstance(exc, kind)), (400, "bad_request")
    )
    items = [{"field": exc.field, "reason": exc.reason}] if exc.field else []
    return status, error_body(code, str(exc), items)


def _headers(exc: OnewatchError, status: int) -> dict[str, str] | None:
    if isinstance(exc, TooManyRequests | StoreUnavailable):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return {"WWW-Authenticate": "Bearer"} if status == 401 else None


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        detail = next(str(e.get("ctx", {}).get("error", "")) for e in errors)
        return JSONResponse(
            error_body("malformed_json", f"the body is not valid JSON: {detail}".strip(": ")),
            status_code=400,
        )
    return validation_response(pydantic_errors(errors))


async def _model_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return model_invalid_response(exc)


def model_invalid_response(exc: ValidationError) -> JSONResponse:
    """422 for a model a handler validated itself (a PUT body, a merged PATCH)."""
    return validation_response(pydantic_errors(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


def unexpected_error_response(exc: Exception, *, logged_elsewhere: bool = False) -> JSONResponse:
    """503/507 for a store failure, else a 500 (its traceback logged): never plain text."""
    failure = store_failure(exc)
    if failure is not None:
        log.warning("store failure", answer=type(failure).__name__, error=repr(exc))
        return onewatch_error_response(failure)
    if not logged_elsewhere:
        log.error("unhandled error", exc_info=exc)
    body = error_body("internal_error", "an unexpected error happened on the server; it is logged")
    return JSONResponse(body, status_code=500)


async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(exc)


async def _last_resort(_request: Request, exc: Exception) -> JSONResponse:
    # Starlette's outermost middleware calls this for an error nothing else handled (a
    # middleware's included), sends the answer, then re-raises for the server to log.
    return unexpected_error_response(exc, logged_elsewhere=True)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OnewatchError, _onewatch_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(ValidationError, _model_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # What a route's store call raises when the database is down or full.
    for store_error in (SQLAlchemyError, sqlite3.Error, OSError):
        app.add_exception_handler(store_error, _store_error)
    app.add_exception_handler(Exception, _last_resort)


class BodySizeLimit:
    """Refuses a request body over ``limit`` bytes (``by_path``: a route's own) with 413,
    before any handler reads it."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = MAX_BODY_BYTES,
        by_path: Mapping[str, int] = BODY_LIMITS_BY_PATH,
    ) -> None:
        self.app = app
        self.limit = limit
        self.by_path = dict(by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["path"], self.limit, self.by_path)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        messages, size = await buffer_body(receive, limit)
        if size > limit:
            await self._refuse(scope, receive, send, limit)
            return
        await self.app(scope, replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        body = error_body(
            "payload_too_large",
            f"body: the request body is larger than {limit // 1024} KiB",
            [{"field": "body", "reason": f"larger than {limit} bytes"}],
        )
        await JSONResponse(body, status_code=413)(scope, receive, send)


def body_limit_for(
    path: str, limit: int = MAX_BODY_BYTES, by_path: Mapping[str, int] = BODY_LIMITS_BY_PATH
) -> int:
    """The most body bytes a request to ``path`` may carry: the route's own, else ``limit``."""
    return by_path.get(path, limit)


async def buffer_body(receive: Receive, limit: int) -> tuple[list[Message], int]:
    """A request's messages (to ``replay`` them) and its body's size, read no further
    than just past ``limit``."""
    messages: list[Message] = []
    size = 0
    while size <= limit:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, size


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` again, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
