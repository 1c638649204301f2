"""The FastAPI application factory (service/API issue fills in the routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from onewatch.api.routes import deliveries, metrics, nodes
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from onewatch.security.tokens import verifier_from_settings


def create_app(runtime: Runtime) -> FastAPI:
    """Build the app around one ``Runtime``; its lifespan starts and stops the roles."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(background_roles())
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Onewatch", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.verifier = verifier_from_settings(runtime.settings)
    for router in (deliveries.router, metrics.router):
        app.include_router(router)
    app.include_router(nodes.router)
    return app
