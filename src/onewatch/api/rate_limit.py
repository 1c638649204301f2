"""The API's per-service request rate quota: 429 with ``Retry-After`` past the limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import State

from onewatch.api.deps import PrincipalDep
from onewatch.errors import TooManyRequests
from onewatch.runtime import Runtime
from onewatch.security.quotas import RequestRateLimiter
from onewatch.security.tokens import Principal


async def get_rate_limiter(request: Request) -> RequestRateLimiter:
    """The app's limiter, built from the runtime's settings on first use.

    Both dependencies here are coroutines: FastAPI runs a plain ``def`` one in a worker
    thread (two thread hops per request, and buckets updated from several threads).
    """
    return limiter_of(request.app.state)


def limiter_of(state: State) -> RequestRateLimiter:
    """The limiter kept in an app's ``state``, made on first use from its runtime."""
    limiter: RequestRateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        runtime: Runtime = state.runtime
        limiter = RequestRateLimiter.from_settings(runtime.settings)
        state.rate_limiter = limiter
    return limiter


async def enforce_rate_limit(
    principal: PrincipalDep,
    limiter: Annotated[RequestRateLimiter, Depends(get_rate_limiter)],
) -> None:
    """Count this request against its service; refuse it with 429 when over the quota."""
    count_request(limiter, principal)


def count_request(limiter: RequestRateLimiter, principal: Principal, cost: float = 1.0) -> None:
    """Take ``cost`` requests from the service's bucket; ``TooManyRequests`` when it is short."""
    wait = limiter.acquire(principal.service, cost)
    if wait > 0:
        raise TooManyRequests(
            f"service {principal.service!r} is over its request rate quota"
            " (ONEWATCH_QUOTA_REQUESTS_PER_SECOND)",
            field="service",
            retry_after_seconds=int(RequestRateLimiter.retry_after_header(wait)),
        )


RateLimitDep = Depends(enforce_rate_limit)
