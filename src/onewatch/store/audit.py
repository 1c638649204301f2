"""The audit log's rows: written inside the caller's transaction, listed, pruned.

Entries are written by ``StoreTransaction.record_audits`` in the transaction of the
change they describe: the entry commits with the change or not at all, so there is no
change without its entry and no entry of a change that was rolled back. How the insert
is sent differs by database (``SqlStore.insert_audit_rows``); the statement and its rows
are made here. What goes in ``before``/``after`` (documents with their secrets left out)
is the application's business (``application.audit``); this module stores what it is
given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, RowMapping, Text, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.records import AuditEntry, AuditFilter, JsonText, json_text
from onewatch.store.schema import audit_log

#: The entry's fields, which are the table's columns (``dataclasses.asdict`` would copy
#: the documents deeply, for nothing).
_COLUMNS = tuple(field.name for field in fields(AuditEntry))


_DOCUMENTS = ("before", "after")


def insert_audit_statement(document: Callable[[str], ColumnElement[Any]]) -> Insert:
    """The insert of entries; ``document(name)`` is how a store binds a document given as
    JSON text (``None``: SQL NULL), serialized by ``audit_rows`` (PostgreSQL casts the
    text to JSONB; SQLite stores it as it is)."""
    documents = {name: document(name) for name in _DOCUMENTS}
    # No RETURNING: nobody reads an entry's id back, so none is fetched per entry.
    return insert(audit_log).values(documents)


def text_document(name: str) -> ColumnElement[Any]:
    """A document bound as its JSON text."""
    return bindparam(name, type_=Text)


def _as_text(document: Mapping[str, Any] | JsonText | None) -> str | None:
    if document is None or isinstance(document, JsonText):
        return document
    return json_text(document)


def _row(entry: AuditEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in _COLUMNS}
    row["before"], row["after"] = _as_text(entry.before), _as_text(entry.after)
    return row


def audit_rows(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """The entries as the insert's parameters, their documents as JSON text."""
    return [_row(entry) for entry in entries]


async def record_audit_plainly(connection: AsyncConnection, entry: AuditEntry) -> None:
    """Write one entry through SQLAlchemy's own JSON handling, on any database: for the
    store's own rare entries (a service's first signing secret), not a hot path."""
    values = {name: getattr(entry, name) for name in _COLUMNS}
    for name in _DOCUMENTS:
        document = values[name]
        if isinstance(document, JsonText):
            values[name] = json.loads(document)
    await connection.execute(insert(audit_log).values(values))


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
