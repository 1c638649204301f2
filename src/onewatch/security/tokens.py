"""Who is calling: verifying bearer tokens and minting them for ``onewatch token create``.

Three key modes, chosen by configuration and never by the token: an HMAC secret
(HS256/384/512), a PEM public key, or a JWKS URL (RS*, PS*, ES*, EdDSA). The algorithm
allow-list must fit the mode (no ``none``, no HS with a public key, so a token "signed"
with the public key as an HMAC secret is refused), ``exp`` and ``sub`` are required
(``sub`` a valid service name, ``domain.names``),
``aud``/``iss`` are checked when configured, and the clock-skew leeway is bounded by the
settings (0 to 300 s). ``check_settings`` refuses to start with an empty, short (< 32
bytes) or example secret.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from onewatch.domain.names import checked_service_name, service_name_problem
from onewatch.errors import ConfigurationError, Unauthorized
from onewatch.security.secret_rules import check_hmac_secret
from onewatch.settings import Settings

ADMIN_SCOPE = "admin"

#: How long a token checked with a configured key is taken as checked (never past its
#: ``exp``): a client sends the same token with every request, and the signature check
#: was an eighth of the CPU of an event create. JWKS tokens are checked every time, so a
#: key the operator withdrew from the set stops working as soon as the set is re-read.
VERIFIED_TOKEN_SECONDS = 60.0
#: Tokens remembered at once; the memory is emptied when it is full.
VERIFIED_TOKEN_LIMIT = 4096

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
#: Public-key algorithms, each with the key type it needs.
PUBLIC_KEY_TYPES: dict[str, tuple[type[Any], ...]] = {
    **{name: (RSAPublicKey,) for name in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
    **{name: (EllipticCurvePublicKey,) for name in ("ES256", "ES384", "ES512")},
    "EdDSA": (Ed25519PublicKey, Ed448PublicKey),
}


@dataclass(frozen=True)
class Principal:
    """The caller: the service it speaks for, and whether it may act for any service."""

    service: str
    admin: bool = False

    def may_act_for(self, service: str) -> bool:
        return self.admin or self.service == service


def _check_algorithms(algorithms: tuple[str, ...], *, hmac_mode: bool) -> None:
    allowed = HMAC_ALGORITHMS if hmac_mode else frozenset(PUBLIC_KEY_TYPES)
    mode = "an HMAC secret" if hmac_mode else "a public key or JWKS"
    if not algorithms:
        raise ConfigurationError("at least one algorithm is needed", field="jwt_algorithms")
    for name in algorithms:
        if name not in allowed:
            raise ConfigurationError(
                f"{name!r} cannot be used with {mode}; allowed: {', '.join(sorted(allowed))}",
                field="jwt_algorithms",
            )


def _load_public_key(pem: str) -> Any:
    try:
        return load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ConfigurationError(
            "not a PEM public key (-----BEGIN PUBLIC KEY-----)", field="jwt_public_key"
        ) from exc


def _check_key_fits(key: Any, algorithms: tuple[str, ...]) -> None:
    for name in algorithms:
        if not isinstance(key, PUBLIC_KEY_TYPES[name]):
            raise ConfigurationError(
                f"{name} does not fit a {type(key).__name__}", field="jwt_algorithms"
            )


@dataclass(frozen=True)
class TokenVerifier:
    """Checks a bearer token against the configured key and algorithm allow-list.

    Exactly one of ``secret`` (HMAC), ``public_key`` (PEM) or ``jwks_client`` is set.
    """

    secret: str = field(default="", repr=False)
    algorithms: tuple[str, ...] = ("HS256",)
    audience: str | None = None
    issuer: str | None = None
    leeway_seconds: int = 30
    public_key: str | None = None
    jwks_client: jwt.PyJWKClient | None = None
    #: Seconds since the epoch (tests move it to check when a remembered token lapses).
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    _key: Any = field(init=False, repr=False, compare=False, default=None)
    #: token -> (its principal, until when it counts as checked)
    _verified: dict[str, tuple[Principal, float]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        modes = [bool(self.secret), self.public_key is not None, self.jwks_client is not None]
        if sum(modes) != 1:
            raise ConfigurationError(
                "configure exactly one of a secret, a public key or a JWKS URL",
                field="jwt_secret",
            )
        _check_algorithms(self.algorithms, hmac_mode=bool(self.secret))
        if self.public_key is not None:
            key = _load_public_key(self.public_key)
            _check_key_fits(key, self.algorithms)
            object.__setattr__(self, "_key", key)
        elif self.secret:
            object.__setattr__(self, "_key", self.secret)

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None and self.clock() < remembered[1]:
            return remembered[0]
        claims = self._checked_claims(token)
        principal = _principal(claims)
        if self.jwks_client is None:
            self._remember(token, principal, claims)
        return principal

    def _remember(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        if len(self._verified) >= VERIFIED_TOKEN_LIMIT:
            self._verified.clear()
        until = min(float(claims["exp"]), self.clock() + VERIFIED_TOKEN_SECONDS)
        self._verified[token] = (principal, until)

    def _checked_claims(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._verification_key(token),
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return claims

    def _verification_key(self, token: str) -> Any:
        """The configured key; for JWKS, the set's key for the token's ``kid``.

        The token only picks *which* of the operator's keys by ``kid``; its type must
        still fit the token's algorithm, which must be on the allow-list.
        """
        if self.jwks_client is None:
            return self._key
        jwk = self.jwks_client.get_signing_key_from_jwt(token)
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in PUBLIC_KEY_TYPES or algorithm not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not allowed")
        if not isinstance(jwk.key, PUBLIC_KEY_TYPES[algorithm]):
            raise jwt.InvalidKeyError(f"key {jwk.key_id!r} does not fit {algorithm}")
        return jwk.key


def _principal(claims: dict[str, object]) -> Principal:
    service = claims.get("sub")
    if not isinstance(service, str) or not service:
        raise Unauthorized("token has no service (sub)")
    problem = service_name_problem(service)
    if problem is not None:  # it could name items no URL can reach
        raise Unauthorized(f"the token's service (sub) {problem}")
    scope = claims.get("scope", "")
    scopes = scope.split() if isinstance(scope, str) else []
    return Principal(service=service, admin=ADMIN_SCOPE in scopes)


def mint_token(
    secret: str,
    service: str,
    *,
    admin: bool = False,
    ttl: timedelta = timedelta(days=30),
    now: datetime | None = None,
    audience: str | None = None,
    issuer: str | None = None,
    algorithm: str = "HS256",
    key_id: str | None = None,
) -> str:
    """A token for ``service`` (``scope: admin`` when ``admin``).

    ``secret`` is the HMAC secret, or a PEM private key for a public-key ``algorithm``;
    ``ValidationFailed`` (field ``service``) when ``service`` is not a valid service name.
    """
    checked_service_name(service)
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {"sub": service, "iat": issued, "exp": issued + ttl}
    if admin:
        claims["scope"] = ADMIN_SCOPE
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    headers = {"kid": key_id} if key_id else None
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


SECRET_FILE_NAME = "jwt-secret"


def load_or_create_secret(data_dir: Path) -> tuple[str, bool]:
    """The embedded default's HS256 secret: read from the data folder, or made there.

    Returns the secret and whether it was just created (so ``serve`` can print how to
    mint a first token). The file is readable by its owner only.
    """
    path = data_dir / SECRET_FILE_NAME
    if path.is_file():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret, True


def check_settings(settings: Settings) -> None:
    """Refuse to start with unsafe auth settings (raises ``ConfigurationError``)."""
    if settings.jwt_public_key is not None and settings.jwt_jwks_url is not None:
        raise ConfigurationError(
            "set either a public key or a JWKS URL, not both", field="jwt_jwks_url"
        )
    asymmetric = settings.jwt_public_key is not None or settings.jwt_jwks_url is not None
    if asymmetric and settings.jwt_secret is not None:
        raise ConfigurationError(
            "an HMAC secret beside a public key would let either sign", field="jwt_secret"
        )
    if settings.jwt_secret is not None:
        check_hmac_secret(settings.jwt_secret.get_secret_value(), field="jwt_secret")
    if settings.jwt_jwks_url is not None:
        _check_jwks_url(settings.jwt_jwks_url)
    _check_algorithms(tuple(settings.jwt_algorithms), hmac_mode=not asymmetric)


def _check_jwks_url(url: str) -> None:
    """https, or http only to this machine (a test or a sidecar): keys must not be spoofed."""
    parts = urlsplit(url)
    local = parts.hostname in {"127.0.0.1", "::1", "localhost"}
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ConfigurationError("a JWKS URL must use https", field="jwt_jwks_url")


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """The verifier the API uses; refuses unsafe settings with ``ConfigurationError``."""
    check_settings(settings)
    common: dict[str, Any] = {
        "algorithms": tuple(settings.jwt_algorithms),
        "audience": settings.jwt_audience,
        "issuer": settings.jwt_issuer,
        "leeway_seconds": settings.jwt_leeway_seconds,
    }
    if settings.jwt_public_key is not None:
        return TokenVerifier(public_key=settings.jwt_public_key, **common)
    if settings.jwt_jwks_url is not None:
        client = jwt.PyJWKClient(
            settings.jwt_jwks_url,
            lifespan=settings.jwt_jwks_cache_seconds,
            timeout=10,
            cooldown_duration=settings.jwt_jwks_refresh_cooldown_seconds,
        )
        return TokenVerifier(jwks_client=client, **common)
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
    else:
        secret, _created = load_or_create_secret(settings.data_dir)
        check_hmac_secret(secret, field="jwt_secret")
    return TokenVerifier(secret=secret, **common)
