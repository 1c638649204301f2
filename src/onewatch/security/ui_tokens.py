"""Tokens only the dashboard accepts: one-time sign-in links and browser sessions.

Both are JWTs signed with the node's HMAC secret and carry an audience of their own, so
the API refuses them as bearer tokens (PyJWT rejects an ``aud`` it was not told to
expect, and a configured API audience differs). A link token also has a ``jti`` the
store records on use (``store.ui_links``), which makes it good for one sign-in only.
Public-key and JWKS deployments cannot mint, so there only pasted tokens sign in.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from onewatch.domain.names import checked_service_name
from onewatch.errors import Unauthorized
from onewatch.security.tokens import ADMIN_SCOPE, Principal, TokenVerifier

LINK_AUDIENCE = "onewatch-ui-link"
SESSION_AUDIENCE = "onewatch-ui-session"
LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class LinkGrant:
    """A verified sign-in link: who it signs in, its id, and when it expires."""

    principal: Principal
    jti: str
    expires_at: datetime


def _claims(
    principal: Principal, audience: str, now: datetime, ttl: timedelta
) -> dict[str, object]:
    checked_service_name(principal.service)
    claims: dict[str, object] = {"sub": principal.service, "aud": audience, "iat": now}
    claims["exp"] = now + ttl
    if principal.admin:
        claims["scope"] = ADMIN_SCOPE
    return claims


def mint_link_token(
    secret: str,
    principal: Principal,
    *,
    now: datetime,
    ttl: timedelta = LINK_TTL,
    issuer: str | None = None,
) -> str:
    """The token of a one-time sign-in link (``onewatch ui-link``)."""
    claims = {**_claims(principal, LINK_AUDIENCE, now, ttl), "jti": uuid.uuid4().hex}
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def for_audience(verifier: TokenVerifier, audience: str) -> TokenVerifier:
    """The same keys and rules, expecting ``audience`` instead of the API's."""
    return dataclasses.replace(verifier, audience=audience)


def can_mint(verifier: TokenVerifier) -> bool:
    """Only an HMAC-secret node can sign the tokens of links and sessions."""
    return bool(verifier.secret)


def verify_link(verifier: TokenVerifier, token: str) -> LinkGrant:
    """Check a link's signature, expiry and audience; ``Unauthorized`` when any fails."""
    if not can_mint(verifier):
        raise Unauthorized("sign-in links need the node's HMAC secret; paste a token instead")
    principal = for_audience(verifier, LINK_AUDIENCE).verify(token)
    claims = jwt.decode(token, options={"verify_signature": False})  # verified just above
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 64:
        raise Unauthorized("this sign-in link has no valid id")
    return LinkGrant(principal, jti, datetime.fromtimestamp(int(claims["exp"]), tz=UTC))


def mint_session(verifier: TokenVerifier, principal: Principal, *, now: datetime) -> str:
    """A browser session for ``principal``, after a link was used."""
    claims = _claims(principal, SESSION_AUDIENCE, now, SESSION_TTL)
    if verifier.issuer:
        claims["iss"] = verifier.issuer
    return jwt.encode(claims, verifier.secret, algorithm=verifier.algorithms[0])
