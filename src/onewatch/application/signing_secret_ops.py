"""Creating, rotating and revoking a service's signing secrets, each audited in its transaction.

A secret's value never reaches the audit log: an entry names the secrets by id and says
when they stop signing (``rotate`` lists the ids it put an end to).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from onewatch.application.audit import Actor, entry
from onewatch.clock import Clock
from onewatch.domain.documents import utc_text
from onewatch.ports import Store
from onewatch.security.secrets_crypto import Keyring
from onewatch.store.records import SigningSecretRecord

RESOURCE = "signing_secret"


def secret_document(record: SigningSecretRecord) -> dict[str, Any]:
    """What the audit log keeps of a secret: its id and lifetime, never its value."""
    return {
        "id": str(record.id),
        "createdAt": utc_text(record.created_at),
        "expiresAt": utc_text(record.expires_at),
    }


async def add_secret(
    store: Store, keyring: Keyring, service: str, clock: Clock, actor: Actor
) -> tuple[SigningSecretRecord, str]:
    """A new secret beside the others; its plaintext is returned here only."""
    now = clock.now()
    async with store.write() as tx:
        record, plaintext = await tx.create_secret(keyring, service, now)
        target = (service, RESOURCE, str(record.id))
        await tx.record_audits([entry(actor, now, target, "create", None, secret_document(record))])
    return record, plaintext


async def rotate(
    store: Store,
    keyring: Keyring,
    service: str,
    clock: Clock,
    overlap: timedelta,
    actor: Actor,
) -> tuple[SigningSecretRecord, str, datetime]:
    """A new secret; the active ones end when the overlap does (their ids are audited)."""
    now = clock.now()
    async with store.write() as tx:
        ending = [str(old.id) for old in await tx.list_secrets(service) if old.active_at(now)]
        record, plaintext, ends = await tx.rotate_secrets(keyring, service, now, overlap)
        before = {"activeIds": ending}
        after = {**secret_document(record), "rotated": ending, "previousExpireAt": utc_text(ends)}
        target = (service, RESOURCE, str(record.id))
        await tx.record_audits([entry(actor, now, target, "rotate", before, after)])
    return record, plaintext, ends


async def revoke(store: Store, service: str, secret_id: int, clock: Clock, actor: Actor) -> None:
    """End one active secret now; ``NotFound`` (and no entry) when there is none."""
    now = clock.now()
    async with store.write() as tx:
        await tx.revoke_secret(service, secret_id, now)
        after = {"id": str(secret_id), "expiresAt": utc_text(now)}
        target = (service, RESOURCE, str(secret_id))
        await tx.record_audits([entry(actor, now, target, "revoke", None, after)])
