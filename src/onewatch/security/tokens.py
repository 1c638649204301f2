"""Who is calling: verifying bearer tokens and minting them for ``onewatch token create``.

The trust issue hardens this module (asymmetric keys, JWKS, quotas); its public surface
(``Principal``, ``TokenVerifier``, ``mint_token``) stays as it is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from onewatch.errors import Unauthorized
from onewatch.settings import Settings

ADMIN_SCOPE = "admin"


@dataclass(frozen=True)
class Principal:
    """The caller: the service it speaks for, and whether it may act for any service."""

    service: str
    admin: bool = False

    def may_act_for(self, service: str) -> bool:
        return self.admin or self.service == service


@dataclass(frozen=True)
class TokenVerifier:
    """Checks a bearer token against the configured key and algorithm allow-list."""

    secret: str
    algorithms: tuple[str, ...] = ("HS256",)
    audience: str | None = None
    issuer: str | None = None
    leeway_seconds: int = 30

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return _principal(claims)


def _principal(claims: dict[str, object]) -> Principal:
    service = claims.get("sub")
    if not isinstance(service, str) or not service:
        raise Unauthorized("token has no service (sub)")
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
) -> str:
    """An HS256 token for ``service`` (``scope: admin`` when ``admin``)."""
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {"sub": service, "iat": issued, "exp": issued + ttl}
    if admin:
        claims["scope"] = ADMIN_SCOPE
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


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


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """The verifier the API uses; the configured secret, else the data folder's."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
    else:
        secret, _created = load_or_create_secret(settings.data_dir)
    return TokenVerifier(
        secret=secret,
        algorithms=tuple(settings.jwt_algorithms),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
