"""What both clients are built from: where the server is, the token, and the defaults."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

import onewatch
from onewatch.client.calls import Calls, service_of_token
from onewatch.client.errors import ConnectionFailed

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ClientConfig:
    """The settings shared by ``Client`` and ``AsyncClient``."""

    base_url: str
    token: str | None = None
    service: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"onewatch-python/{onewatch.__version__}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def calls(self) -> Calls:
        """Calls addressed to the configured service, or else the token's subject."""
        return Calls(self.service or service_of_token(self.token))

    def connection_failed(self, exc: httpx.TransportError) -> ConnectionFailed:
        """A transport failure as one clear error naming the server."""
        timed_out = isinstance(exc, httpx.TimeoutException)
        what = "did not answer in time" if timed_out else "could not be reached"
        return ConnectionFailed(f"{self.root} {what} ({type(exc).__name__}: {exc})")
