"""``GET /v1/audit``: who changed which action, event, calendar or signing secret, and how.

A service's token sees its own service's entries only (naming another is 403); an admin
token sees every service's, or one's with ``service``. Newest first, a page at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    listing_scope,
    page,
)
from onewatch.domain.documents import utc_text
from onewatch.errors import ValidationFailed
from onewatch.store.records import AuditFilter, StoredRow
from onewatch.store.schema import AUDIT_RESOURCE_TYPES

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[RateLimitDep])


def audit_json(row: StoredRow) -> dict[str, Any]:
    """An entry as the API shows it; ``before``/``after`` were stored without secrets."""
    return {
        "id": str(row["id"]),
        "service": row["service"],
        "resourceType": row["resource_type"],
        "key": row["resource_key"],
        "action": row["action"],
        "actor": {"subject": row["actor"], "scope": row["actor_scope"], "via": row["via"]},
        "at": utc_text(row["at"]),
        "before": row["before"],
        "after": row["after"],
    }


def _resource_type(value: str | None) -> str | None:
    if value is not None and value not in AUDIT_RESOURCE_TYPES:
        allowed = ", ".join(AUDIT_RESOURCE_TYPES)
        raise ValidationFailed(f"must be one of {allowed}", field="resourceType")
    return value


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValidationFailed("needs a time zone (e.g. 2030-01-01T00:00:00Z)", field=name)
    return value


def audit_filter(
    scope: str | None,
    resource_type: str | None,
    key: str | None,
    since: datetime | None,
    until: datetime | None,
) -> AuditFilter:
    """The checked filter (a 422 names the parameter that is wrong)."""
    return AuditFilter(
        service=scope,
        resource_type=_resource_type(resource_type),
        resource_key=key or None,
        since=_instant(since, "since"),
        until=_instant(until, "until"),
    )


@router.get("")
async def list_entries(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    service: str | None = None,
    resource_type: str | None = Query(None, alias="resourceType"),
    key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> dict[str, Any]:
    """Audit entries newest first: by resource type and key, at or after ``since``, before
    ``until``; ``nextCursor`` fetches the next (older) page."""
    where = audit_filter(listing_scope(principal, service), resource_type, key, since, until)
    before_id = decode_cursor(cursor)
    async with runtime.store.read() as tx:
        rows = await tx.list_audit(where, before_id=before_id, limit=limit + 1)
    return page(rows, limit, audit_json)
