"""``/healthz`` (the process answers) and ``/readyz`` (the store answers and is migrated)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from onewatch.api.deps import RuntimeDep
from onewatch.api.errors import error_body
from onewatch.store.migrate import is_current

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await is_current(runtime.engine)
    except Exception as exc:  # any failure to reach the store means "not ready"
        body = error_body("not_ready", f"the store is unreachable: {exc}")
        return JSONResponse(body, status_code=503)
    if not current:
        body = error_body("not_ready", "the schema is not migrated (run: onewatch migrate)")
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready"})
