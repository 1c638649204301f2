"""``/healthz`` (the process answers) and ``/readyz`` (the store answers, is migrated, and
has room for writes)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from onewatch.api.deps import RuntimeDep
from onewatch.api.errors import error_body
from onewatch.ports import MIN_HEAD_ROOM_BYTES

router = APIRouter(tags=["health"])

#: What a load balancer is told to wait before asking a node that is not ready again.
NOT_READY_RETRY_AFTER_SECONDS = 5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        await runtime.store.answers()
        head_room = await runtime.store.head_room_bytes()
        current = await runtime.store.is_current()
    except Exception as exc:  # any failure to reach the store means "not ready"
        return _not_ready(f"the store is unreachable: {exc}")
    if not current:
        return _not_ready("the schema is not migrated (run: onewatch migrate)")
    if head_room is not None and head_room < MIN_HEAD_ROOM_BYTES:
        return _not_ready(f"the store has {head_room} bytes left to grow: writes would fail")
    return JSONResponse({"status": "ready"})


def _not_ready(message: str) -> JSONResponse:
    headers = {"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)}
    return JSONResponse(error_body("not_ready", message), status_code=503, headers=headers)
