"""What every client command shares: where the server is, who speaks, and exit codes.

The URL, token and service come from flags or ``ONEWATCH_URL``, ``ONEWATCH_TOKEN`` and
``ONEWATCH_SERVICE``. Every failure ends as one line on stderr and an exit code a script
can branch on (``ExitCode``), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

import typer

from onewatch.client import (
    ApiError,
    AuthenticationFailed,
    Client,
    ClientError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from onewatch.errors import OnewatchError

DEFAULT_URL = "http://127.0.0.1:8080"


class ExitCode(IntEnum):
    """What a client command's exit status means (documented in docs/reference/cli.md)."""

    OK = 0
    FAILED = 1  # anything not listed below
    USAGE = 2  # bad flags or arguments, no token, a file that cannot be read or parsed
    NOT_FOUND = 3  # 404: no such action, event or delivery
    INVALID = 4  # 400/413/422: the server refused the input (the field is named)
    CONFLICT = 5  # 409: the key exists, the item is in use, or a delivery is not dead
    DENIED = 6  # 401/403: the token is missing, invalid, expired or may not do this
    UNAVAILABLE = 7  # unreachable, timed out, rate limited or 5xx: retrying may help


_BY_ERROR: tuple[tuple[type[OnewatchError], ExitCode], ...] = (
    (NotFound, ExitCode.NOT_FOUND),
    (InvalidRequest, ExitCode.INVALID),
    (Conflict, ExitCode.CONFLICT),
    (AuthenticationFailed, ExitCode.DENIED),
    (PermissionDenied, ExitCode.DENIED),
    (ConnectionFailed, ExitCode.UNAVAILABLE),
    (RateLimited, ExitCode.UNAVAILABLE),
    (ServerError, ExitCode.UNAVAILABLE),
    (ClientError, ExitCode.USAGE),
)


def exit_code_of(error: OnewatchError) -> ExitCode:
    """The exit code for an error a command could not get past."""
    return next((code for kind, code in _BY_ERROR if isinstance(error, kind)), ExitCode.FAILED)


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned ``Exit``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=int(code))


def describe(error: OnewatchError) -> str:
    """One line: the server's message, and its status for API errors."""
    if isinstance(error, ApiError):
        return f"{error.message} (HTTP {error.status_code} {error.code})"
    return str(error)


@contextmanager
def reported() -> Iterator[None]:
    """Turn any Onewatch error raised inside into its one line and exit code."""
    try:
        yield
    except OnewatchError as exc:
        raise fail(describe(exc), exit_code_of(exc)) from None


Url = Annotated[
    str,
    typer.Option("--url", envvar="ONEWATCH_URL", help="The server's base URL.", show_default=True),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="ONEWATCH_TOKEN", help="Bearer token.", show_default=False),
]
Service = Annotated[
    str | None,
    typer.Option(
        "--service",
        envvar="ONEWATCH_SERVICE",
        help="Service to address (default: the token's subject).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@dataclass(frozen=True)
class Remote:
    """The server a command talks to, as its flags and environment say."""

    url: str
    token: str | None
    service: str | None

    def client(self) -> Client:
        if not self.token:
            raise fail(
                "no token: set ONEWATCH_TOKEN or pass --token "
                "(mint one with: onewatch token create --service NAME)",
                ExitCode.USAGE,
            )
        return Client(self.url, self.token, service=self.service)


def split_name(name: str, service: str | None) -> tuple[str | None, str]:
    """``KEY`` or ``SERVICE/KEY`` (a key never holds ``/``) -> (service, key)."""
    owner, slash, key = name.rpartition("/")
    if not slash:
        return service, name
    if not owner or not key or "/" in owner:
        raise fail(f"{name!r}: give KEY or SERVICE/KEY", ExitCode.USAGE)
    return owner, key
