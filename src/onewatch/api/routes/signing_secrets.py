"""``/v1/services/{service}/signing-secrets``: a service's webhook signing secrets.

Only that service's tokens and admin tokens get here; another service's token sees 404
(403 when it tries to create). A secret's value is shown once, in the answer that
creates it (create or rotate); listings show ids and lifetimes only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Body, Path, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from onewatch.api.deps import PrincipalDep, RuntimeDep
from onewatch.api.rate_limit import RateLimitDep
from onewatch.application import signing_secret_ops
from onewatch.application.access import require_service_access, require_service_write
from onewatch.application.audit import Actor
from onewatch.application.pagination import MAX_ID
from onewatch.domain.documents import ServiceName
from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.store.records import SigningSecretRecord

router = APIRouter(
    prefix="/v1/services/{service}/signing-secrets",
    tags=["signing secrets"],
    dependencies=[RateLimitDep],
)
log = structlog.get_logger(__name__)

ServicePath = Annotated[ServiceName, Path()]
#: Ids are 64-bit: a larger one is a 422, not an overflow in the driver.
SecretIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_OVERLAP_SECONDS = 30 * 86400


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class SigningSecretOut(_CamelModel):
    id: int
    created_at: datetime
    expires_at: datetime | None
    active: bool


class NewSigningSecretOut(SigningSecretOut):
    secret: str = Field(description="Shown only in this answer: store it now.")


class SigningSecretList(_CamelModel):
    items: list[SigningSecretOut]


class RotationIn(_CamelModel):
    overlap_seconds: float | None = Field(
        default=None,
        strict=True,  # a number: ``false`` or ``"60"`` is refused, not read as 0 or 60
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the old secrets keep signing (default from settings).",
    )


class RotationOut(NewSigningSecretOut):
    previous_expire_at: datetime


def _out(record: SigningSecretRecord, now: datetime) -> SigningSecretOut:
    return SigningSecretOut(
        id=record.id,
        created_at=record.created_at,
        expires_at=record.expires_at,
        active=record.active_at(now),
    )


@router.get("", response_model=SigningSecretList, response_model_by_alias=True)
async def list_signing_secrets(
    service: ServicePath, principal: PrincipalDep, runtime: RuntimeDep
) -> SigningSecretList:
    require_service_access(principal, service)
    async with runtime.store.read() as tx:
        records = await tx.list_secrets(service)
    now = runtime.clock.now()
    return SigningSecretList(items=[_out(record, now) for record in records])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewSigningSecretOut,
    response_model_by_alias=True,
)
async def create_signing_secret(
    service: ServicePath, principal: PrincipalDep, runtime: RuntimeDep
) -> NewSigningSecretOut:
    """Add a secret; the others keep signing (rotate to retire them)."""
    require_service_write(principal, service)
    keyring = keyring_from_settings(runtime.settings)
    record, plaintext = await signing_secret_ops.add_secret(
        runtime.store, keyring, service, runtime.clock, Actor.of(principal)
    )
    now = runtime.clock.now()
    log.info("signing_secret.created", service=service, secret_id=record.id)
    return NewSigningSecretOut(**_out(record, now).model_dump(), secret=plaintext)


@router.post(
    "/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=RotationOut,
    response_model_by_alias=True,
)
async def rotate_signing_secrets(
    service: ServicePath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    rotation: Annotated[RotationIn | None, Body()] = None,
) -> RotationOut:
    """A new secret; the old ones sign beside it until the overlap ends."""
    require_service_access(principal, service)
    seconds = (
        rotation.overlap_seconds if rotation and rotation.overlap_seconds is not None else None
    )
    overlap = timedelta(
        seconds=runtime.settings.signing_secret_overlap_seconds if seconds is None else seconds
    )
    keyring = keyring_from_settings(runtime.settings)
    record, plaintext, ends = await signing_secret_ops.rotate(
        runtime.store, keyring, service, runtime.clock, overlap, Actor.of(principal)
    )
    now = runtime.clock.now()
    log.info("signing_secret.rotated", service=service, secret_id=record.id, overlap_ends=ends)
    return RotationOut(**_out(record, now).model_dump(), secret=plaintext, previous_expire_at=ends)


@router.delete("/{secret_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_signing_secret(
    service: ServicePath, secret_id: SecretIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> None:
    """End one secret now (it leaked); no overlap."""
    require_service_access(principal, service)
    await signing_secret_ops.revoke(
        runtime.store, service, secret_id, runtime.clock, Actor.of(principal)
    )
    log.info("signing_secret.revoked", service=service, secret_id=secret_id)
