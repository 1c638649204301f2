"""Dependencies injected into the routes: the node's runtime and the calling service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from onewatch.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
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


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


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


def require_service_access(principal: Principal, service: str) -> None:
    """Reading or changing an item of ``service``: a foreign one looks like it is absent."""
    if not principal.may_act_for(service):
        raise NotFound("not found")


def require_service_write(principal: Principal, service: str) -> None:
    """Creating in ``service``: refused outright when it is not the caller's."""
    if not principal.may_act_for(service):
        raise Forbidden(f"this token may not act for service {service!r}", field="service")


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


def service_of_new_item(principal: Principal, declared: str | None) -> str:
    """A body's ``service``: the token's own when omitted; a foreign one is 403."""
    service = declared or principal.service
    require_service_write(principal, service)
    return service


def document_for_path(
    body: dict[str, Any], principal: Principal, service: str, key: str
) -> dict[str, Any]:
    """A PUT body addressed by the URL: the URL's service and key, the body's must match."""
    require_service_write(principal, service)
    for name, expected in (("service", service), ("key", key)):
        given = body.get(name)
        if given is not None and given != expected:
            raise ValidationFailed(f"is {given!r} but the URL says {expected!r}", field=name)
    return {**body, "service": service, "key": key}
