"""Dependencies injected into the routes: the node's runtime, its event context and the
calling service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from onewatch.application.event_ops import EventContext, EventRules
from onewatch.errors import Unauthorized
from onewatch.runtime import Runtime
from onewatch.security.tokens import Principal, TokenVerifier

# The dependencies FastAPI injects are coroutines: it runs a plain ``def`` dependency in
# a worker thread, and three thread hops per request cost more than the whole create did.
# ``get_runtime`` and ``get_verifier`` stay plain functions for code that calls them.


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


def event_context_of(runtime: Runtime) -> EventContext:
    """The context every event change runs in, built once per app (``create_app``): its
    rules parse the outbound policy from the settings, work worth skipping per request."""
    rules = EventRules.from_settings(runtime.settings)
    return EventContext(runtime.store, runtime.clock, runtime.wakeup.notify, rules)


def get_event_context(request: Request) -> EventContext:
    context: EventContext = request.app.state.event_context
    return context


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


async def _event_context(request: Request) -> EventContext:
    return get_event_context(request)


async def current_principal(request: Request) -> Principal:
    """The service behind the bearer token; 401 when there is none or it is bad.

    Checking a signature with a configured key is CPU work of microseconds, done here;
    a JWKS set may have to be fetched over the network, so that check runs in a thread.
    """
    return await principal_of(get_verifier(request), request.headers.get("authorization", ""))


async def principal_of(verifier: TokenVerifier, header: str) -> Principal:
    """The service an ``Authorization`` header's bearer token names; ``Unauthorized`` if none."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <JWT>)")
    if verifier.jwks_client is not None:
        return await run_in_threadpool(verifier.verify, token.strip())
    return verifier.verify(token.strip())


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
EventContextDep = Annotated[EventContext, Depends(_event_context)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
