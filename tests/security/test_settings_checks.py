"""The service refuses to start with unsafe auth settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from onewatch.errors import ConfigurationError
from onewatch.security.startup import check_trust_settings
from onewatch.security.tokens import (
    TokenVerifier,
    check_settings,
    load_or_create_secret,
    verifier_from_settings,
)
from onewatch.settings import Settings

GOOD = "q7Vt2m9XcL0pRz4sN8bJ1wYhK6dF3gAe"  # 32 bytes, no pattern


def _ec_public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"jwt_secret": ""}, "jwt_secret", "empty"),
        ({"jwt_secret": "   "}, "jwt_secret", "empty"),
        ({"jwt_secret": GOOD[:31]}, "jwt_secret", "at least 32"),
        ({"jwt_secret": "your-256-bit-secret"}, "jwt_secret", "at least 32"),
        ({"jwt_secret": "0123456789abcdef0123456789abcdef"}, "jwt_secret", "example"),
        ({"jwt_secret": "change-me-to-a-long-random-secret-string"}, "jwt_secret", "example"),
        ({"jwt_secret": "please-CHANGEME-before-production-use"}, "jwt_secret", "example"),
        ({"jwt_secret": "ab" * 20}, "jwt_secret", "repetitive"),
        ({"jwt_secret": GOOD, "jwt_algorithms": ["none"]}, "jwt_algorithms", "'none'"),
        ({"jwt_secret": GOOD, "jwt_algorithms": ["RS256"]}, "jwt_algorithms", "RS256"),
        ({"jwt_secret": GOOD, "jwt_algorithms": []}, "jwt_algorithms", "at least one"),
        ({"jwt_public_key": "PEM", "jwt_algorithms": ["HS256"]}, "jwt_algorithms", "HS256"),
        ({"jwt_public_key": "PEM", "jwt_jwks_url": "https://x/jwks"}, "jwt_jwks_url", "not both"),
        ({"jwt_public_key": "PEM", "jwt_secret": GOOD}, "jwt_secret", "HMAC"),
        (
            {"jwt_jwks_url": "http://idp.example/jwks", "jwt_algorithms": ["RS256"]},
            "jwt_jwks_url",
            "https",
        ),
    ],
)
def test_unsafe_settings_refuse_to_start(
    tmp_path: Path, overrides: dict[str, object], field: str, reason: str
) -> None:
    settings = Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError) as caught:
        verifier_from_settings(settings)
    assert caught.value.field == field
    assert reason in caught.value.reason
    # The message never echoes the secret itself.
    secret = overrides.get("jwt_secret")
    if isinstance(secret, str) and secret.strip():
        assert secret not in str(caught.value)


def test_the_generated_embedded_secret_is_accepted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    check_settings(settings)
    verifier = verifier_from_settings(settings)
    secret, created = load_or_create_secret(tmp_path)
    assert created is False
    assert verifier.secret == secret
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600
    assert secret not in repr(verifier)


def test_public_key_mode_checks_the_key_fits_the_algorithms(tmp_path: Path) -> None:
    pem = _ec_public_pem()
    ok = Settings(data_dir=tmp_path, jwt_public_key=pem, jwt_algorithms=["ES256"])
    assert verifier_from_settings(ok).algorithms == ("ES256",)
    wrong = Settings(data_dir=tmp_path, jwt_public_key=pem, jwt_algorithms=["RS256"])
    with pytest.raises(ConfigurationError, match="RS256 does not fit"):
        verifier_from_settings(wrong)
    bad = Settings(data_dir=tmp_path, jwt_public_key="not a key", jwt_algorithms=["ES256"])
    with pytest.raises(ConfigurationError, match="PEM"):
        verifier_from_settings(bad)


def test_a_verifier_has_exactly_one_key_source() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        TokenVerifier()
    with pytest.raises(ConfigurationError, match="exactly one"):
        TokenVerifier(secret=GOOD, public_key=_ec_public_pem(), algorithms=("ES256",))


def test_check_trust_settings_covers_policy_and_keys(tmp_path: Path) -> None:
    check_trust_settings(Settings(data_dir=tmp_path))
    assert (tmp_path / "secrets-key").is_file()
    broken = [
        ({"jwt_secret": "short"}, "jwt_secret"),
        ({"outbound_allowed_networks": ["not-a-network"]}, "outbound_networks"),
        ({"secrets_keys": {"k1": "dG9vIHNob3J0"}}, "secrets_keys"),
    ]
    for overrides, field in broken:
        with pytest.raises(ConfigurationError) as caught:
            check_trust_settings(Settings(data_dir=tmp_path, **overrides))  # type: ignore[arg-type]
        assert caught.value.field == field
