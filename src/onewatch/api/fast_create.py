"""``POST /v1/events`` without FastAPI's middleware, routing and dependency resolution.

An event create is the API's hottest request, and under load FastAPI's machinery cost
more CPU than the create itself: six nested dependency solves (each parsing query
parameters, cookies and headers again), route matching over every route, and seven
middleware layers (FastAPI's telemetry check reads the environment on every request).
``FastCreate``, the app's front door (``create_app`` composes it), answers a well-formed
create before any of them, with the same functions the route uses (token check, body
limit, rate quota, ``routes.events.create_answer``, the error renderers), so the answer,
its status and its headers are the same bytes.

Anything else takes the ordinary way, before anything was counted or changed: another
path or method, a body that is not JSON (no ``Content-Type: application/json``) or is
over the size limit, malformed JSON, a missing or bad token, a body the model refuses.
The app then answers exactly as it always did (400, 401, 413, 422, in its order). Past
that point a refusal (429, 403, 409, 422 from the schedule or the target policy) is
rendered by the same function as the app's exception handler, and so is any other
exception (the store down or full: 503/507; a bug: 500).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from onewatch.api.deps import principal_of
from onewatch.api.errors import (
    body_limit_for,
    buffer_body,
    model_invalid_response,
    onewatch_error_response,
    replay,
    unexpected_error_response,
)
from onewatch.api.rate_limit import count_request, limiter_of
from onewatch.api.routes.events import create_answer
from onewatch.domain.documents import EventDocument
from onewatch.errors import OnewatchError
from onewatch.security.tokens import Principal, TokenVerifier

PATH = "/v1/events"
_JSON = b"application/json"


class FastCreate:
    """The app's front door: a well-formed create answered here, anything else ``ordinary``.

    The checks are the ordinary way's own functions (the token check ``principal_of``, the
    body limit ``body_limit_for``, the quota ``count_request``, the error renderers), so
    there is one implementation of each; ``tests/api/test_fast_create.py`` sends every
    refusal both ways and compares the answers.
    """

    def __init__(self, app: FastAPI, ordinary: ASGIApp) -> None:
        self.app = app
        self.ordinary = ordinary
        self.body_limit = body_limit_for(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.ordinary(scope, receive, send)
            return
        # Over the limit, the ordinary way's ``BodySizeLimit`` refuses it.
        messages, size = await buffer_body(receive, self.body_limit)
        scope["app"] = self.app  # as Starlette sets it: the route's functions read app.state
        body = b"".join(message.get("body", b"") for message in messages)
        try:
            accepted = None if size > self.body_limit else await _accepted(scope, body)
        except Exception as exc:  # what a JSON answer must still describe (the route's way)
            await unexpected_error_response(exc)(scope, receive, send)
            return
        if accepted is None:
            await self.ordinary(scope, replay(messages, receive), send)
            return
        principal, document = accepted
        response = await _create(scope, principal, document)
        await response(scope, receive, send)


async def _accepted(scope: Scope, body: bytes) -> tuple[Principal, EventDocument] | None:
    """The caller and the document, or None when the route must answer (nothing counted)."""
    headers = _first_values(scope["headers"], (b"content-type", b"authorization"))
    if headers[0].lower() != _JSON or not body:
        return None
    verifier: TokenVerifier = scope["app"].state.verifier
    try:
        principal = await principal_of(verifier, headers[1].decode("latin-1"))
        # pydantic parses the bytes itself: no dict built first, and the same document.
        document = EventDocument.model_validate_json(body)
    except (OnewatchError, ValueError):  # a bad token, bad JSON, a refused document
        return None
    return principal, document


def _first_values(headers: list[tuple[bytes, bytes]], names: tuple[bytes, ...]) -> list[bytes]:
    """Each named header's first value (as the route reads them), ``b""`` when absent."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        found.setdefault(name, value)
    return [found.get(name, b"") for name in names]


async def _create(scope: Scope, principal: Principal, document: EventDocument) -> Response:
    state: Any = scope["app"].state
    try:
        count_request(limiter_of(state), principal)
        return await create_answer(state.event_context, principal, document)
    except OnewatchError as exc:
        return onewatch_error_response(exc)
    except ValidationError as exc:
        return model_invalid_response(exc)
    except Exception as exc:  # the store down or full (503/507), or a bug (500): JSON still
        return unexpected_error_response(exc)
