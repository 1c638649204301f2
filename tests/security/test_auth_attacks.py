"""Attacks on the API's auth, against a real app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from onewatch.security.tokens import mint_token
from onewatch.settings import Settings
from tests.security.conftest import bearer, build_app, served

SECRET = secrets.token_urlsafe(48)
AUDIENCE = "onewatch-api"
ISSUER = "https://auth.example.test"
A, B = "billing", "shipping"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


#: Tokens of the parametrised cases are made at collection, which can be many minutes
#: before a test runs on a loaded machine: lifetimes this long keep the claim under test
#: the only thing wrong with a token.
LIFETIME = timedelta(days=1)


def _claims(service: str, **extra: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": service,
        "iat": now,
        "exp": now + LIFETIME,
        "aud": AUDIENCE,
        "iss": ISSUER,
    }
    claims.update(extra)
    return {key: value for key, value in claims.items() if value is not None}


def _unsigned(claims: dict[str, object], header: dict[str, object]) -> str:
    payload = json.dumps(
        {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in claims.items()}
    ).encode()
    return f"{_b64(json.dumps(header).encode())}.{_b64(payload)}."


def _hmac_forged(claims: dict[str, object], key: bytes) -> str:
    """An HS256 token whose HMAC key is ``key`` (PyJWT itself refuses to make this one)."""
    signing_input = _unsigned(claims, {"alg": "HS256", "typ": "JWT"})[:-1]
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "jwt_audience": AUDIENCE,
        "jwt_issuer": ISSUER,
        "jwt_leeway_seconds": 5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _list(service: str) -> str:
    return f"/v1/services/{service}/signing-secrets"


# -- HS256 ---------------------------------------------------------------------------


@pytest.fixture
async def hs_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(_settings(tmp_path, jwt_secret=SECRET))
    async with served(app) as client:
        yield client


def _hs(service: str, **extra: object) -> str:
    return jwt.encode(_claims(service, **extra), SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("name", "token", "reason"),
    [
        ("no token", None, "missing bearer token"),
        ("garbage", "not.a.jwt", "invalid token"),
        ("alg none", _unsigned(_claims(A), {"alg": "none", "typ": "JWT"}), "invalid token"),
        ("alg None", _unsigned(_claims(A), {"alg": "None"}), "invalid token"),
        ("wrong secret", jwt.encode(_claims(A), "x" * 64, algorithm="HS256"), "invalid token"),
        ("HS512 not allowed", jwt.encode(_claims(A), SECRET, algorithm="HS512"), "invalid"),
        ("expired", _hs(A, exp=datetime.now(UTC) - timedelta(minutes=1)), "token expired"),
        ("no exp", _hs(A, exp=None), "exp"),
        ("no sub", jwt.encode({**_claims(A), "sub": ""}, SECRET, algorithm="HS256"), ""),
        ("wrong aud", _hs(A, aud="someone-else"), "Audience"),
        ("no aud", _hs(A, aud=None), "aud"),
        ("wrong iss", _hs(A, iss="https://evil.example"), "issuer"),
        ("not yet valid", _hs(A, nbf=datetime.now(UTC) + LIFETIME / 2), "not yet"),
    ],
)
async def test_bad_tokens_get_401(
    hs_api: httpx.AsyncClient, name: str, token: str | None, reason: str
) -> None:
    headers = bearer(token) if token is not None else {}
    response = await hs_api.get(_list(A), headers=headers)
    assert response.status_code == 401, name
    body = response.json()
    assert body["error"] == "unauthorized"
    assert reason in body["message"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_small_clock_skew_is_tolerated(hs_api: httpx.AsyncClient) -> None:
    token = _hs(A, exp=datetime.now(UTC) - timedelta(seconds=1))
    assert (await hs_api.get(_list(A), headers=bearer(token))).status_code == 200


async def test_a_service_cannot_touch_another_services_secrets(hs_api: httpx.AsyncClient) -> None:
    owner, intruder = bearer(_hs(B)), bearer(_hs(A))
    created = await hs_api.post(_list(B), headers=owner)
    assert created.status_code == 201
    secret_id = created.json()["id"]

    attempts = [
        ("GET", _list(B), 404),
        ("POST", _list(B), 403),
        ("POST", _list(B) + "/rotate", 404),
        ("DELETE", f"{_list(B)}/{secret_id}", 404),
    ]
    for method, path, expected in attempts:
        response = await hs_api.request(method, path, headers=intruder)
        assert response.status_code == expected, (method, path)
        assert created.json()["secret"] not in response.text
    # Nothing changed for B: still exactly its one active secret.
    listed = (await hs_api.get(_list(B), headers=owner)).json()["items"]
    assert [(item["id"], item["active"]) for item in listed] == [(secret_id, True)]
    # A's own (empty) list does not show B's secret either.
    assert (await hs_api.get(_list(A), headers=intruder)).json()["items"] == []


async def test_an_admin_token_may_act_for_any_service(hs_api: httpx.AsyncClient) -> None:
    admin = bearer(_hs("ops", scope="admin"))
    created = await hs_api.post(_list(B), headers=admin)
    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert (await hs_api.get(_list(B), headers=admin)).status_code == 200
    rotated = await hs_api.post(_list(B) + "/rotate", headers=admin, json={"overlapSeconds": 60})
    assert rotated.status_code == 201
    # "admin" inside another claim, or a scope list that only mentions it, is not admin.
    fake = bearer(_hs(A, scope="administrator", role="admin"))
    assert (await hs_api.get(_list(B), headers=fake)).status_code == 404


async def test_mint_token_makes_tokens_the_api_accepts(hs_api: httpx.AsyncClient) -> None:
    token = mint_token(SECRET, A, audience=AUDIENCE, issuer=ISSUER)
    assert (await hs_api.get(_list(A), headers=bearer(token))).status_code == 200


# -- RS256 with a PEM public key -----------------------------------------------------


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_rs256_public_key_mode_and_hs_rs_confusion(tmp_path: Path) -> None:
    private, public = _rsa_pair()
    other_private, _ = _rsa_pair()
    app = build_app(_settings(tmp_path, jwt_public_key=public, jwt_algorithms=["RS256"]))
    good = jwt.encode(_claims(A), private, algorithm="RS256")
    attacks = {
        # The classic: HS256 with the (public) PEM as the HMAC secret.
        "hs/rs confusion": _hmac_forged(_claims(A, scope="admin"), public.encode()),
        "alg none": _unsigned(_claims(A), {"alg": "none"}),
        "another RSA key": jwt.encode(_claims(A), other_private, algorithm="RS256"),
        "ES256 own key": jwt.encode(
            _claims(A), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"
        ),
        "expired": jwt.encode(
            _claims(A, exp=datetime.now(UTC) - timedelta(hours=1)), private, algorithm="RS256"
        ),
        "wrong aud": jwt.encode(_claims(A, aud="x"), private, algorithm="RS256"),
    }
    async with served(app) as client:
        assert (await client.get(_list(A), headers=bearer(good))).status_code == 200
        for name, token in attacks.items():
            response = await client.get(_list(A), headers=bearer(token))
            assert response.status_code == 401, name


# -- JWKS ----------------------------------------------------------------------------


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 whose key set the test changes."""

    def __init__(self) -> None:
        self.keys: list[dict[str, object]] = []
        self.fetches = 0

    async def handle(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response({"keys": self.keys})


def _jwk(public_key: object, kid: str, alg: str) -> dict[str, object]:
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, object] = json.loads(algorithm.to_jwk(public_key))
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


@pytest.fixture
async def jwks() -> AsyncIterator[tuple[JwksServer, str]]:
    server = JwksServer()
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}/.well-known/jwks.json"
    finally:
        await runner.cleanup()


async def test_jwks_refreshes_on_unknown_kid(tmp_path: Path, jwks: tuple[JwksServer, str]) -> None:
    server, url = jwks
    first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    second = ed25519.Ed25519PrivateKey.generate()
    server.keys = [_jwk(first.public_key(), "k1", "RS256")]
    settings = _settings(
        tmp_path,
        jwt_jwks_url=url,
        jwt_algorithms=["RS256", "EdDSA"],
        jwt_jwks_refresh_cooldown_seconds=0,
    )
    async with served(build_app(settings)) as client:
        token = jwt.encode(_claims(A), first, algorithm="RS256", headers={"kid": "k1"})
        assert (await client.get(_list(A), headers=bearer(token))).status_code == 200
        assert (await client.get(_list(A), headers=bearer(token))).status_code == 200
        assert server.fetches == 1  # cached

        # The identity provider rotates in a new key: an unknown kid triggers one refresh.
        server.keys.append(_jwk(second.public_key(), "k2", "EdDSA"))
        token2 = jwt.encode(_claims(A), second, algorithm="EdDSA", headers={"kid": "k2"})
        assert (await client.get(_list(A), headers=bearer(token2))).status_code == 200
        assert server.fetches == 2

        # A kid nobody published, a key type that does not fit the alg, HS confusion.
        stranger = jwt.encode(_claims(A), first, algorithm="RS256", headers={"kid": "k9"})
        mismatched = _unsigned(_claims(A), {"alg": "RS256", "kid": "k2"}) + "c2ln"
        confused = _hmac_forged(_claims(A), json.dumps(server.keys[0]).encode())
        for token in (stranger, mismatched, confused):
            assert (await client.get(_list(A), headers=bearer(token))).status_code == 401
