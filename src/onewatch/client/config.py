"""What both clients are built from: where the server is, the token, and the defaults."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

import onewatch
from onewatch.client.calls import Calls, service_of_token
from onewatch.client.errors import ConnectionFailed, RateLimited, error_from_response

DEFAULT_TIMEOUT_SECONDS = 30.0
#: 429s waited out per call before ``RateLimited`` is raised.
DEFAULT_MAX_RETRIES = 5
#: Seconds one call may spend waiting out 429s, in all.
DEFAULT_MAX_RETRY_SECONDS = 60.0
#: The wait after a 429 without a (readable) ``Retry-After``.
FALLBACK_RETRY_SECONDS = 1.0


@dataclass
class RateLimitWaits:
    """One call's budget for waiting out 429 answers, as their ``Retry-After`` asks.

    A 429 means the server did nothing, so sending the same request again is safe for
    every method. A wait that would go past either bound is not started: the 429 is
    raised at once as ``RateLimited``.
    """

    max_retries: int
    max_seconds: float
    retries: int = 0
    waited: float = 0.0

    def wait_before_resend(self, response: httpx.Response) -> float | None:
        """Seconds to wait before sending again; None to take the answer as it is."""
        if response.status_code != 429:
            return None
        error = error_from_response(response)
        wait = FALLBACK_RETRY_SECONDS if error.retry_after is None else error.retry_after
        if self.retries >= self.max_retries or self.waited + wait > self.max_seconds:
            raise self._gave_up(error, wait)
        self.retries += 1
        self.waited += wait
        return wait

    def _gave_up(self, error: Exception, wait: float) -> RateLimited:
        assert isinstance(error, RateLimited)
        message = (
            f"{error.message} (waited out {self.retries} of at most {self.max_retries} 429s,"
            f" {self.waited:.0f} s of at most {self.max_seconds:.0f} s; the next wait"
            f" would be {wait:.0f} s)"
        )
        return RateLimited(429, error.code, message, error.errors, error.retry_after)


@dataclass(frozen=True)
class ClientConfig:
    """The settings shared by ``Client`` and ``AsyncClient``."""

    base_url: str
    token: str | None = None
    service: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS

    def rate_limit_waits(self) -> RateLimitWaits:
        """A fresh budget for one call."""
        return RateLimitWaits(self.max_retries, self.max_retry_seconds)

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
