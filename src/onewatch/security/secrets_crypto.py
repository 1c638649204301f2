"""Signing secrets encrypted at rest, under keys that can be rotated.

AES-256-GCM (``cryptography``'s ``AESGCM``). Each stored secret keeps the id of the key
that sealed it, so an operator adds a new key, makes it active, re-seals
(``Keyring.reseal``) and only then drops the old one. The service name is bound in as
associated data: a ciphertext copied into another service's row does not open.

Keys come from ``ONEWATCH_SECRETS_KEYS`` (``{"id": "<base64 of 32 bytes>"}``) and
``ONEWATCH_SECRETS_ACTIVE_KEY``. With none configured, a key is generated into the data
folder (owner-only file), like the embedded default's JWT secret; several nodes must
share configured keys instead.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from onewatch.errors import ConfigurationError
from onewatch.settings import Settings

KEY_FILE_NAME = "secrets-key"
LOCAL_KEY_ID = "local"
_NONCE_BYTES = 12


class SecretDecryptionFailed(Exception):
    """A stored secret did not open: unknown key id, wrong key, or tampered data."""


@dataclass(frozen=True)
class Sealed:
    """A ciphertext and the id of the key that sealed it, as stored."""

    key_id: str
    ciphertext: str


@dataclass(frozen=True, repr=False)
class Keyring:
    """The encryption keys by id, and which one seals new secrets."""

    keys: dict[str, bytes]
    active_key_id: str

    def __post_init__(self) -> None:
        if self.active_key_id not in self.keys:
            raise ConfigurationError(
                f"active key {self.active_key_id!r} is not among the keys",
                field="secrets_active_key",
            )

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(key_ids={sorted(self.keys)}, active_key_id={self.active_key_id!r})"

    def seal(self, plaintext: str, service: str) -> Sealed:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(
            nonce, plaintext.encode(), _associated(service, self.active_key_id)
        )
        return Sealed(self.active_key_id, base64.b64encode(nonce + sealed).decode("ascii"))

    def open(self, sealed: Sealed, service: str) -> str:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise SecretDecryptionFailed(f"no key {sealed.key_id!r} in the keyring")
        raw = base64.b64decode(sealed.ciphertext)
        try:
            plain = AESGCM(key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated(service, sealed.key_id)
            )
        except InvalidTag as exc:
            raise SecretDecryptionFailed(f"secret sealed with {sealed.key_id!r} fails") from exc
        return plain.decode()

    def reseal(self, sealed: Sealed, service: str) -> Sealed:
        """The same secret under the active key (a no-op when it is sealed with it)."""
        if sealed.key_id == self.active_key_id:
            return sealed
        return self.seal(self.open(sealed, service), service)


def _associated(service: str, key_id: str) -> bytes:
    return f"onewatch-signing-secret\x00{service}\x00{key_id}".encode()


def decode_key(key_id: str, text: str) -> bytes:
    """A 32-byte key from base64 (standard or URL-safe)."""
    try:
        key = base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"key {key_id!r} is not base64", field="secrets_keys") from exc
    if len(key) != 32:
        raise ConfigurationError(
            f"key {key_id!r} must be 32 bytes (base64 of 32 random bytes)", field="secrets_keys"
        )
    return key


def load_or_create_local_key(data_dir: Path) -> bytes:
    """The embedded default's key, read from the data folder or made there (mode 600)."""
    path = data_dir / KEY_FILE_NAME
    if path.is_file():
        return decode_key(LOCAL_KEY_ID, path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_text(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    return key


def keyring_from_settings(settings: Settings) -> Keyring:
    """The configured keys; else the data folder's generated one.

    A generated key that exists beside configured ones stays readable (not active), so
    secrets sealed before the operator configured keys still open and can be resealed.
    """
    configured = {
        key_id: decode_key(key_id, value.get_secret_value())
        for key_id, value in settings.secrets_keys.items()
    }
    if not configured:
        return Keyring({LOCAL_KEY_ID: load_or_create_local_key(settings.data_dir)}, LOCAL_KEY_ID)
    active = settings.secrets_active_key
    if active is None:
        if len(configured) > 1:
            raise ConfigurationError(
                "several keys configured: say which seals new secrets",
                field="secrets_active_key",
            )
        active = next(iter(configured))
    local_file = settings.data_dir / KEY_FILE_NAME
    if LOCAL_KEY_ID not in configured and local_file.is_file():
        configured[LOCAL_KEY_ID] = decode_key(LOCAL_KEY_ID, local_file.read_text())
    return Keyring(configured, active)
