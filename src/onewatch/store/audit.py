"""The audit log's rows: written inside the caller's transaction, listed, pruned.

``record_audit`` / ``record_audits`` take the connection of the change they describe,
never an engine: the entry commits with the change or not at all, so there is no
change without its entry and no entry of a change that was rolled back. What goes in
``before``/``after`` (documents with their secrets left out) is the application's
business (``application.audit``); this module stores what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Insert, RowMapping, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.one_trip import OneTripInsert
from onewatch.store.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: of what (service, resource type and key), how, by whom, when."""

    service: str
    resource_type: str
    resource_key: str
    #: create, update, delete, pause, resume, trigger, redrive, rotate, revoke...
    action: str
    #: The token's subject (``sub``).
    actor: str
    #: ``service`` or ``admin``: the scope the actor spoke with.
    actor_scope: str
    #: The front door: ``api``, ``ui``, ``cli`` or ``system``.
    via: str
    at: datetime
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


#: The entry's fields, which are the table's columns (``dataclasses.asdict`` would copy
#: the documents deeply, for nothing).
_COLUMNS = tuple(field.name for field in fields(AuditEntry))


@dataclass(frozen=True)
class AuditFilter:
    """What ``GET /v1/audit`` narrows by; ``None`` means any."""

    service: str | None = None
    resource_type: str | None = None
    resource_key: str | None = None
    #: Entries at or after ``since`` and strictly before ``until``.
    since: datetime | None = None
    until: datetime | None = None


#: ``None`` in before/after is SQL NULL, also in a many-row insert.
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


def _insert_statement() -> Insert:
    return (
        insert(audit_log)
        .values({name: bindparam(name, type_=_JSON_OR_NULL) for name in ("before", "after")})
        .returning(audit_log.c.id)
    )


_INSERT = _insert_statement()
_INSERT_ON_SQLITE = OneTripInsert(_INSERT)


async def record_audit(connection: AsyncConnection, entry: AuditEntry) -> None:
    """Write one entry in the caller's (write) transaction."""
    await record_audits(connection, (entry,))


async def record_audits(connection: AsyncConnection, entries: Sequence[AuditEntry]) -> None:
    """Write entries in one statement (a group commit's creates: one trip on SQLite)."""
    if not entries:
        return
    rows = [{name: getattr(entry, name) for name in _COLUMNS} for entry in entries]
    if connection.dialect.name == "sqlite":
        await _INSERT_ON_SQLITE.execute(connection, rows)
    else:
        await connection.execute(_INSERT, rows)


async def list_audit(
    connection: AsyncConnection, where: AuditFilter, *, before_id: int | None, limit: int
) -> Sequence[RowMapping]:
    """A page of entries newest first, older than ``before_id`` (keyset pagination).

    Narrowed to a service, the ``(service, id)`` index (or with a resource, the
    ``(service, resource_type, resource_key, id)`` one) gives the order: a page reads
    ``limit`` rows of the index however long the log is.
    """
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if where.service is not None:
        query = query.where(audit_log.c.service == where.service)
    if where.resource_type is not None:
        query = query.where(audit_log.c.resource_type == where.resource_type)
    if where.resource_key is not None:
        query = query.where(audit_log.c.resource_key == where.resource_key)
    if where.since is not None:
        query = query.where(audit_log.c.at >= where.since)
    if where.until is not None:
        query = query.where(audit_log.c.at < where.until)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return (await connection.execute(query)).mappings().all()


async def prune_audit(connection: AsyncConnection, *, older_than: datetime, limit: int) -> int:
    """Delete up to ``limit`` of the oldest entries written before ``older_than``."""
    victims = (
        select(audit_log.c.id)
        .where(audit_log.c.at < older_than)
        .order_by(audit_log.c.at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await connection.execute(delete(audit_log).where(audit_log.c.id.in_(victims)))
    return int(result.rowcount)
