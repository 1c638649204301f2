"""The audit log's rows: written inside the caller's transaction, listed, pruned.

``record_audit`` / ``record_audits`` take the connection of the change they describe,
never an engine: the entry commits with the change or not at all, so there is no
change without its entry and no entry of a change that was rolled back. What goes in
``before``/``after`` (documents with their secrets left out) is the application's
business (``application.audit``); this module stores what it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, RowMapping, Text, bindparam, cast, delete, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.one_trip import OneTripInsert
from onewatch.store.schema import audit_log


class JsonText(str):
    """A document already serialized (``json_text``): stored as it is, not serialized again.

    A create's answer and its audit entry are the same document: serialized once for both.
    """


def json_text(document: Any) -> JsonText:
    """``document`` as compact JSON, exactly as the API's answers serialize it."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return JsonText(text)


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
    #: The documents: mappings, or ``JsonText`` already serialized.
    before: Mapping[str, Any] | JsonText | None = None
    after: Mapping[str, Any] | JsonText | None = None


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


_DOCUMENTS = ("before", "after")


def _insert_statement(dialect: str) -> Insert:
    """The documents go in as JSON text (``None``: SQL NULL), serialized by ``_row``;
    PostgreSQL casts the text to JSONB."""
    documents: dict[str, Any]
    if dialect == "postgresql":
        documents = {
            name: cast(bindparam(name, type_=Text), postgresql.JSONB) for name in _DOCUMENTS
        }
    else:
        documents = {name: bindparam(name, type_=Text) for name in _DOCUMENTS}
    return insert(audit_log).values(documents).returning(audit_log.c.id)


_INSERT = {name: _insert_statement(name) for name in ("sqlite", "postgresql")}
_INSERT_ON_SQLITE = OneTripInsert(_INSERT["sqlite"])


def _as_text(document: Mapping[str, Any] | JsonText | None) -> str | None:
    if document is None or isinstance(document, JsonText):
        return document
    return json_text(document)


def _row(entry: AuditEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in _COLUMNS}
    row["before"], row["after"] = _as_text(entry.before), _as_text(entry.after)
    return row


async def record_audit(connection: AsyncConnection, entry: AuditEntry) -> None:
    """Write one entry in the caller's (write) transaction."""
    await record_audits(connection, (entry,))


async def record_audits(connection: AsyncConnection, entries: Sequence[AuditEntry]) -> None:
    """Write entries in one statement (a group commit's creates: one trip on SQLite)."""
    if not entries:
        return
    rows = [_row(entry) for entry in entries]
    if connection.dialect.name == "sqlite":
        await _INSERT_ON_SQLITE.execute(connection, rows)
    else:
        await connection.execute(_INSERT[connection.dialect.name], rows)


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
    """Of the ``limit`` oldest entries (by id), delete those written before ``older_than``.

    Ids grow with time, so the oldest entries are the first ids: the primary key finds
    them, and no index on ``at`` is kept up by every change for the sake of pruning.
    Fewer than ``limit`` deleted means the old ones are gone (an entry of a node whose
    clock ran behind may wait for the next round).
    """
    oldest = select(audit_log.c.id, audit_log.c.at).order_by(audit_log.c.id).limit(limit)
    first = oldest.subquery()
    victims = select(first.c.id).where(first.c.at < older_than)
    result = await connection.execute(delete(audit_log).where(audit_log.c.id.in_(victims)))
    return int(result.rowcount)
