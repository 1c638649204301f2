"""``/v1/actions``: how a service's events call their targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import RowMapping

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.openapi import body_schema
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application import action_ops
from onewatch.application.access import (
    document_for_path,
    require_service_access,
    service_of_new_item,
)
from onewatch.application.audit import Actor
from onewatch.application.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    listing_scope,
    page,
)
from onewatch.application.render import action_json, merge_patch
from onewatch.application.visible import action_row, visible_row
from onewatch.delivery.target_policy import TargetPolicy, policy_from_settings
from onewatch.domain.documents import ActionDocument
from onewatch.runtime import Runtime

router = APIRouter(prefix="/v1/actions", tags=["actions"], dependencies=[RateLimitDep])


def _policy(runtime: Runtime) -> TargetPolicy:
    return policy_from_settings(runtime.settings)


def _answer(written: action_ops.Written) -> JSONResponse:
    return JSONResponse(action_json(written.row), status_code=201 if written.created else 200)


@router.post("", status_code=201)
async def create_action(
    document: ActionDocument, runtime: RuntimeDep, principal: PrincipalDep
) -> JSONResponse:
    """Register an action; 409 when the service has one with this key."""
    service = service_of_new_item(principal, document.service)
    written = await action_ops.create_action(
        runtime.store,
        runtime.clock,
        service,
        document,
        policy=_policy(runtime),
        actor=Actor.of(principal),
    )
    return _answer(written)


@router.get("")
async def list_actions(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service: str | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> dict[str, Any]:
    """Actions in creation order, a page at a time (``nextCursor`` fetches the next)."""
    scope = listing_scope(principal, service)
    after_id = decode_cursor(cursor)
    async with runtime.store.read() as tx:
        rows = await tx.list_actions(service=scope, after_id=after_id, limit=limit + 1)
    return page(rows, limit, action_json)


@router.get("/{service}/{key}")
async def get_action(
    service: str, key: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    row = await visible_row(runtime.store, principal, service, key, noun="action", get=action_row)
    return action_json(row)


@router.put("/{service}/{key}", openapi_extra=body_schema("ActionDocument"))
async def put_action(
    service: str,
    key: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., description="An action document (see POST)."),
) -> JSONResponse:
    """Make it so: create the action (201) or replace it (200); the same body twice is a no-op."""
    document = ActionDocument.model_validate(document_for_path(body, principal, service, key))
    return _answer(
        await action_ops.replace_action(
            runtime.store,
            runtime.clock,
            service,
            document,
            policy=_policy(runtime),
            actor=Actor.of(principal),
        )
    )


@router.patch("/{service}/{key}")
async def patch_action(
    service: str,
    key: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    body: dict[str, Any] = Body(..., description="A JSON merge patch (null removes a field)."),
) -> JSONResponse:
    require_service_access(principal, service)

    def merged(current: RowMapping) -> ActionDocument:
        document = merge_patch(action_json(current), body)
        return ActionDocument.model_validate(document_for_path(document, principal, service, key))

    written = await action_ops.update_action(
        runtime.store,
        runtime.clock,
        service,
        key,
        merged,
        policy=_policy(runtime),
        actor=Actor.of(principal),
    )
    return _answer(written)


@router.delete("/{service}/{key}", status_code=204)
async def delete_action(
    service: str, key: str, runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    """Remove an action; 409 while events still use it."""
    require_service_access(principal, service)
    await action_ops.remove_action(
        runtime.store, service, key, clock=runtime.clock, actor=Actor.of(principal)
    )
    return Response(status_code=204)
