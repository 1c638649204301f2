"""``onewatch ui-link``: print a one-time link that signs a browser in to the dashboard."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import typer

from onewatch.cli.server import DataDir, fail, parse_ttl, signing_secret, user_errors
from onewatch.settings import Settings, load_settings


def register(app: typer.Typer) -> None:
    """Add the ``ui-link`` command to ``app``."""
    app.command("ui-link")(ui_link)


def _base_url(settings: Settings, given: str | None) -> str:
    if given:
        return given.rstrip("/")
    host = settings.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def _secret(settings: Settings) -> tuple[str, str]:
    """The HMAC secret the node verifies with and where it is kept (see ``signing_secret``)."""
    if settings.jwt_public_key is not None or settings.jwt_jwks_url is not None:
        raise fail("this node verifies tokens with a public key; paste a token in the dashboard")
    return signing_secret(settings)


def ui_link(
    service: Annotated[str, typer.Option(help="The service the browser will act for.")],
    admin: Annotated[bool, typer.Option(help="Sign in as an admin (every service).")] = False,
    ttl: Annotated[str, typer.Option(help="How long the link stays usable: 15m, 1h...")] = "15m",
    base_url: Annotated[
        str | None, typer.Option(help="The dashboard's address as browsers reach it.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print a link that signs a browser in to the dashboard once, for SERVICE."""
    from onewatch.clock import SystemClock
    from onewatch.security.tokens import Principal
    from onewatch.security.ui_tokens import mint_link_token

    lifetime = parse_ttl(ttl)
    if not service.strip():
        raise fail("--service must not be empty")
    with user_errors():
        settings = load_settings(data_dir=data_dir)
        secret, source = _secret(settings)
        token = mint_link_token(
            secret,
            Principal(service.strip(), admin=admin),
            now=SystemClock().now(),
            ttl=lifetime,
            issuer=settings.jwt_issuer,
        )
    typer.echo(f"signed with the secret from {source}", err=True)
    typer.echo(f"{_base_url(settings, base_url)}/ui/link?{urlencode({'token': token})}")
