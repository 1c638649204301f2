"""Each service's webhook signing secrets: stored sealed, opened only to sign or to show once.

A secret is *active* while ``expires_at`` is NULL or later than now. Creating one leaves
the others as they are; rotating gives every active secret an end (now + overlap) and
creates a new one, so both sign until the old one ends. A service's first delivery
creates its first secret when it has none (two dispatchers racing there make two, and
both sign: harmless).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.delivery.signing import generate_secret
from onewatch.domain.documents import utc_text
from onewatch.errors import NotFound
from onewatch.security.secrets_crypto import Keyring, Sealed
from onewatch.store.audit import record_audit_plainly
from onewatch.store.records import AuditEntry, SigningSecretRecord
from onewatch.store.schema import signing_secrets

LIST_LIMIT = 100


def _record(row: Row[*tuple[Any, ...]]) -> SigningSecretRecord:
    return SigningSecretRecord(row.id, row.service, row.created_at, row.expires_at)


def _active(service: str, now: datetime) -> ColumnElement[bool]:
    return and_(
        signing_secrets.c.service == service,
        or_(signing_secrets.c.expires_at.is_(None), signing_secrets.c.expires_at > now),
    )


def _active_query(service: str, now: datetime) -> Select[tuple[str, str]]:
    return (
        select(signing_secrets.c.key_id, signing_secrets.c.ciphertext)
        .where(_active(service, now))
        .order_by(signing_secrets.c.created_at.desc(), signing_secrets.c.id.desc())
    )


async def create_secret(
    connection: AsyncConnection, keyring: Keyring, service: str, now: datetime
) -> tuple[SigningSecretRecord, str]:
    """A new active secret; the plaintext is returned here and never again."""
    plaintext = generate_secret()
    sealed = keyring.seal(plaintext, service)
    result = await connection.execute(
        signing_secrets.insert().values(
            service=service,
            key_id=sealed.key_id,
            ciphertext=sealed.ciphertext,
            created_at=now,
            expires_at=None,
        )
    )
    primary_key = result.inserted_primary_key
    if primary_key is None:
        raise RuntimeError("the store did not return the new secret's id")
    return SigningSecretRecord(int(primary_key[0]), service, now, None), plaintext


async def rotate_secrets(
    connection: AsyncConnection,
    keyring: Keyring,
    service: str,
    now: datetime,
    overlap: timedelta,
) -> tuple[SigningSecretRecord, str, datetime]:
    """End every active secret at ``now + overlap`` and create the new one.

    Returns the new secret's record, its plaintext, and when the overlap ends. Run it in
    one transaction so a failure leaves the old secrets as they were.
    """
    ends = now + overlap
    await connection.execute(
        update(signing_secrets)
        .where(_active(service, now))
        .where(or_(signing_secrets.c.expires_at.is_(None), signing_secrets.c.expires_at > ends))
        .values(expires_at=ends)
    )
    record, plaintext = await create_secret(connection, keyring, service, now)
    return record, plaintext, ends


async def revoke_secret(
    connection: AsyncConnection, service: str, secret_id: int, now: datetime
) -> None:
    """End one active secret now (a leaked one); ``NotFound`` if none of the service's."""
    result = await connection.execute(
        update(signing_secrets)
        .where(_active(service, now))
        .where(signing_secrets.c.id == secret_id)
        .values(expires_at=now)
    )
    if result.rowcount != 1:
        raise NotFound(f"no active signing secret {secret_id}", field="id")


async def list_secrets(connection: AsyncConnection, service: str) -> list[SigningSecretRecord]:
    """The service's newest secrets, active or ended, without their values."""
    rows = await connection.execute(
        select(
            signing_secrets.c.id,
            signing_secrets.c.service,
            signing_secrets.c.created_at,
            signing_secrets.c.expires_at,
        )
        .where(signing_secrets.c.service == service)
        .order_by(signing_secrets.c.created_at.desc(), signing_secrets.c.id.desc())
        .limit(LIST_LIMIT)
    )
    return [_record(row) for row in rows]


async def active_secrets(
    connection: AsyncConnection, service: str, now: datetime, *, keyring: Keyring
) -> list[str]:
    """The plaintexts that sign the service's requests now, newest first.

    Creates the first one when the service has none. Run it in a write transaction
    (``Store.write``) so that creation is committed.
    """
    rows = await connection.execute(_active_query(service, now))
    opened = [keyring.open(Sealed(row.key_id, row.ciphertext), service) for row in rows]
    if opened:
        return opened
    created, plaintext = await create_secret(connection, keyring, service, now)
    await record_audit_plainly(connection, _made_by_the_node(created))
    return [plaintext]


def _made_by_the_node(record: SigningSecretRecord) -> AuditEntry:
    """The audit entry of a first secret the node made itself (ids only, never a value)."""
    after = {"id": str(record.id), "createdAt": utc_text(record.created_at), "expiresAt": None}
    return AuditEntry(
        record.service,
        "signing_secret",
        str(record.id),
        "create",
        actor="onewatch",
        actor_scope="admin",
        via="system",
        at=record.created_at,
        after=after,
    )


async def reseal_all(connection: AsyncConnection, keyring: Keyring) -> int:
    """Re-encrypt every secret not sealed with the active key; returns how many."""
    rows = await connection.execute(
        select(
            signing_secrets.c.id,
            signing_secrets.c.service,
            signing_secrets.c.key_id,
            signing_secrets.c.ciphertext,
        ).where(signing_secrets.c.key_id != keyring.active_key_id)
    )
    count = 0
    for row in rows.all():
        sealed = keyring.reseal(Sealed(row.key_id, row.ciphertext), row.service)
        result = await connection.execute(
            update(signing_secrets)
            .where(signing_secrets.c.id == row.id, signing_secrets.c.key_id == row.key_id)
            .values(key_id=sealed.key_id, ciphertext=sealed.ciphertext)
        )
        count += result.rowcount
    return count


async def read_active_secrets(
    connection: AsyncConnection, keyring: Keyring, service: str, now: datetime
) -> list[str]:
    """The active secrets, opened, newest first: a read only (none if the service has none)."""
    rows = await connection.execute(_active_query(service, now))
    return [keyring.open(Sealed(row.key_id, row.ciphertext), service) for row in rows]
