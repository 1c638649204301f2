"""Signing secrets: sealed at rest, rotated with an overlap, signing real requests."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from onewatch.delivery.signing_source import SigningSecretSource
from onewatch.delivery.target_policy import TargetPolicy, policy_connector
from onewatch.errors import ConfigurationError, NotFound
from onewatch.security.secrets_crypto import (
    Keyring,
    Sealed,
    SecretDecryptionFailed,
    keyring_from_settings,
)
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.base import SqlStore
from onewatch.store.schema import signing_secrets
from onewatch.store.transaction import SqlTransaction
from tests.security.conftest import FixedClock


def _key() -> bytes:
    return secrets.token_bytes(32)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_seal_binds_the_service_and_detects_tampering() -> None:
    keyring = Keyring({"k1": _key()}, "k1")
    sealed = keyring.seal("whsec_plaintext", "billing")
    assert "plaintext" not in sealed.ciphertext
    assert keyring.open(sealed, "billing") == "whsec_plaintext"
    with pytest.raises(SecretDecryptionFailed):
        keyring.open(sealed, "shipping")  # a row copied to another service
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[-1] ^= 1
    with pytest.raises(SecretDecryptionFailed):
        keyring.open(Sealed("k1", base64.b64encode(bytes(raw)).decode()), "billing")
    with pytest.raises(SecretDecryptionFailed, match="no key 'k0'"):
        keyring.open(Sealed("k0", sealed.ciphertext), "billing")
    assert "k1" in repr(keyring)
    assert _b64(keyring.keys["k1"]) not in repr(keyring)


def test_keyring_from_settings(tmp_path: Path) -> None:
    local = keyring_from_settings(Settings(data_dir=tmp_path))
    assert local.active_key_id == "local"
    assert stat.S_IMODE((tmp_path / "secrets-key").stat().st_mode) == 0o600
    assert keyring_from_settings(Settings(data_dir=tmp_path)).keys == local.keys  # reused

    k2 = _b64(_key())
    configured = keyring_from_settings(Settings(data_dir=tmp_path, secrets_keys={"k2": k2}))
    assert configured.active_key_id == "k2"
    assert set(configured.keys) == {"k2", "local"}  # the old local key still opens

    bad = [
        ({"secrets_keys": {"k": "***"}}, "secrets_keys"),
        ({"secrets_keys": {"k": _b64(b"short")}}, "secrets_keys"),
        ({"secrets_keys": {"a": k2, "b": k2}}, "secrets_active_key"),
        ({"secrets_keys": {"a": k2}, "secrets_active_key": "z"}, "secrets_active_key"),
    ]
    for overrides, field in bad:
        with pytest.raises(ConfigurationError) as caught:
            keyring_from_settings(Settings(data_dir=tmp_path, **overrides))  # type: ignore[arg-type]
        assert caught.value.field == field


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = open_store(f"sqlite:///{tmp_path / 'onewatch.db'}")
    await store.migrate()
    try:
        yield store
    finally:
        await store.dispose()


async def test_rotation_with_overlap_and_key_rotation(sqlite_store: SqlStore) -> None:
    clock = FixedClock()
    start = clock.now()
    old_keys = Keyring({"k1": _key()}, "k1")
    async with sqlite_store.write() as tx:
        assert isinstance(tx, SqlTransaction)
        connection = tx.connection
        first = await tx.active_secrets("billing", start, keyring=old_keys)
        assert len(first) == 1  # created on first use
        assert await tx.active_secrets("billing", start, keyring=old_keys) == first
        stored = (await connection.execute(select(signing_secrets.c.ciphertext))).scalars().all()
        assert all(first[0] not in text for text in stored)

        record, new, ends = await tx.rotate_secrets(old_keys, "billing", start, timedelta(hours=1))
        assert ends == start + timedelta(hours=1)
        during = await tx.active_secrets("billing", start, keyring=old_keys)
        assert during == [new, first[0]]
        after = await tx.active_secrets("billing", ends, keyring=old_keys)
        assert after == [new]
        listed = await tx.list_secrets("billing")
        assert listed[0].id == record.id
        assert [item.active_at(ends) for item in listed] == [True, False]
        assert await tx.list_secrets("shipping") == []

        # The operator adds k2 and makes it active: old rows still open, then get resealed.
        new_keys = Keyring({"k1": old_keys.keys["k1"], "k2": _key()}, "k2")
        assert await tx.active_secrets("billing", start, keyring=new_keys) == during
        assert await tx.reseal_all(new_keys) == 2
        assert await tx.reseal_all(new_keys) == 0
        only_k2 = Keyring({"k2": new_keys.keys["k2"]}, "k2")
        assert await tx.active_secrets("billing", start, keyring=only_k2) == during

        with pytest.raises(NotFound):
            await tx.revoke_secret("shipping", record.id, start)
        await tx.revoke_secret("billing", record.id, start)
        with pytest.raises(NotFound):
            await tx.revoke_secret("billing", record.id, start)


async def test_created_secret_is_returned_once(sqlite_store: SqlStore) -> None:
    keyring = Keyring({"k1": _key()}, "k1")
    clock = FixedClock()
    async with sqlite_store.write() as tx:
        record, plaintext = await tx.create_secret(keyring, "billing", clock.now())
    assert plaintext.startswith("whsec_")
    assert plaintext not in repr(record)


class Receiver:
    """A webhook receiver on 127.0.0.1 that verifies with the official library."""

    def __init__(self, secret: str) -> None:
        self.verifier = Webhook(secret)
        self.verified: list[object] = []
        self.rejected: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            self.verified.append(self.verifier.verify(body, dict(request.headers)))
        except WebhookVerificationError as exc:
            self.rejected.append(str(exc))
            return web.Response(status=401)
        return web.Response(status=204)


async def _serve(receiver: Receiver) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def test_signed_requests_verify_across_a_rotation(sqlite_store: SqlStore) -> None:
    """What the dispatcher does: policy connector + SigningSecretSource headers."""
    keyring = Keyring({"k1": _key()}, "k1")
    clock = FixedClock()
    source = SigningSecretSource(sqlite_store, keyring, clock, cache_seconds=0)
    old_secret = (await source.secrets_for("billing"))[0]
    old_receiver = Receiver(old_secret)
    async with sqlite_store.write() as tx:
        _record, new_secret, ends = await tx.rotate_secrets(
            keyring, "billing", clock.now(), timedelta(minutes=1)
        )
    new_receiver = Receiver(new_secret)
    runners = [await _serve(old_receiver), await _serve(new_receiver)]
    connector = policy_connector(TargetPolicy())
    body = json.dumps({"invoice": 7}).encode()
    try:
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
            for when in (clock.now(), ends):
                clock.moment = when
                for _runner, port in runners:
                    headers = await source.headers("billing", "dlv_1", when, body)
                    headers["content-type"] = "application/json"
                    url = f"http://127.0.0.1:{port}/hook"
                    async with session.post(
                        url, data=body, headers=headers, allow_redirects=False
                    ) as response:
                        await response.read()
    finally:
        for runner, _port in runners:
            await runner.cleanup()
    # During the overlap both receivers verify; after it only the new secret signs.
    assert old_receiver.verified == [{"invoice": 7}]
    assert old_receiver.rejected == ["No matching signature found"]
    assert new_receiver.verified == [{"invoice": 7}, {"invoice": 7}]
    assert new_receiver.rejected == []


async def test_a_burst_of_first_deliveries_creates_one_secret(store: SqlStore) -> None:
    """Many deliveries of a new service start together: one secret is created, and the
    cache answers the rest (on PostgreSQL concurrent transactions would each create one)."""
    keyring = Keyring({"k1": _key()}, "k1")
    source = SigningSecretSource(store, keyring, FixedClock(), cache_seconds=60)
    found = await asyncio.gather(*(source.secrets_for("fresh") for _ in range(20)))
    async with store.read() as tx:
        listed = await tx.list_secrets("fresh")
    assert len(listed) == 1
    assert all(secrets_in_use == found[0] for secrets_in_use in found)
    assert len(found[0]) == 1
