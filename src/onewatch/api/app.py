"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from onewatch.api.deps import event_context_of
from onewatch.api.docs_page import install_docs
from onewatch.api.errors import BodySizeLimit, install_error_handlers
from onewatch.api.fast_create import FastCreate
from onewatch.api.openapi import install_openapi
from onewatch.api.routes import (
    actions,
    audit,
    backfill,
    calendars,
    deliveries,
    event_batch,
    events,
    health,
    metrics,
    nodes,
    schedules,
    signing_secrets,
)
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from onewatch.security.tokens import verifier_from_settings
from onewatch.ui import install_ui


class OnewatchAPI(FastAPI):
    """A FastAPI app whose outermost ASGI callable is ``front_door`` once one is set.

    FastAPI's own entry (telemetry check, middleware stack, routing, dependencies) is then
    ``ordinary_way``, which the front door calls for what it does not answer itself.
    """

    front_door: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front_door is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front_door(scope, receive, send)

    async def ordinary_way(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(runtime: Runtime) -> FastAPI:
    """Build the app around one ``Runtime``; its lifespan starts and stops the roles.

    Requests meet, outermost first: with tracing on, the SERVER span of each request
    (``api.tracing``); the front door ``FastCreate`` (a well-formed
    ``POST /v1/events``, the hottest request, is answered there, with the same checks),
    then FastAPI's entry, the error handlers, ``BodySizeLimit`` and the routes.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(background_roles())
        try:
            yield
        finally:
            await runtime.stop()

    app = OnewatchAPI(
        title="Onewatch",
        version="0.1.0",
        description="Register actions and events; Onewatch fires each event when it is due.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: install_docs
        redoc_url=None,
        # Onewatch's own SERVER spans (``api.tracing``) cover every request, the front
        # door's too: FastAPI's would double the routed ones under a global provider.
        telemetry={"tracing": False} if runtime.tracing is not None else None,
    )
    app.state.runtime = runtime
    app.state.event_context = event_context_of(runtime)
    app.state.verifier = verifier_from_settings(runtime.settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    routers = (
        health,
        actions,
        calendars,
        event_batch,
        events,
        backfill,
        schedules,
        deliveries,
        metrics,
        signing_secrets,
        nodes,
        audit,
    )
    for module in routers:
        app.include_router(module.router)
    install_ui(app)
    install_docs(app)
    install_openapi(app)
    app.front_door = FastCreate(app, ordinary=app.ordinary_way)
    if runtime.tracing is not None:
        # Imported only when tracing is on: with it come the SDK and protobuf (megabytes).
        from onewatch.api.tracing import traced

        app.front_door = traced(app.front_door, runtime.tracing)
    return app
