"""``/ui/audit``: the audit log of the viewer's service (an admin's: any or all), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onewatch.application.pagination import decode_cursor, split_page
from onewatch.errors import ValidationFailed
from onewatch.store.records import AuditFilter
from onewatch.store.schema import AUDIT_RESOURCE_TYPES
from onewatch.ui.deps import RuntimeDep, ViewerDep
from onewatch.ui.templating import page

router = APIRouter(prefix="/ui/audit")

PAGE_SIZE = 50
#: Fields every update changes; a change list without them says what was meant.
_BOOKKEEPING = frozenset({"updatedAt", "version"})


@dataclass(frozen=True)
class Change:
    """One top-level field of a document, before and after."""

    field: str
    before: Any
    after: Any


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The fields an entry changed (every field of a created or deleted document)."""
    old, new = before or {}, after or {}
    names = [name for name in {**old, **new} if name not in _BOOKKEEPING]
    return [Change(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)]


@router.get("", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    service: str = "",
    type: str = "",
    key: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Filtered by resource type and key; keyset pages like ``GET /v1/audit``."""
    where = AuditFilter(
        service=viewer.scope(service),
        resource_type=type if type in AUDIT_RESOURCE_TYPES else None,
        resource_key=key.strip() or None,
    )
    try:
        before_id = decode_cursor(cursor)
    except ValidationFailed:  # a cursor this server did not make: start over
        before_id = None
    async with runtime.store.read() as tx:
        rows = await tx.list_audit(where, before_id=before_id, limit=PAGE_SIZE + 1)
    shown, next_cursor = split_page(rows, PAGE_SIZE)
    filters = {"service": where.service or "", "type": where.resource_type or "", "key": key}
    return page(
        request,
        "audit.html",
        viewer,
        entries=shown,
        next_cursor=next_cursor,
        filters=filters,
        types=AUDIT_RESOURCE_TYPES,
        changes=changes,
    )
