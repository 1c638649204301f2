"""Retrying a PUT that lost a race, so "make it so" converges instead of failing.

Two clients may PUT the same new key at once: on PostgreSQL both see no row and one
insert meets the unique key; or a row changes between read and conditional update (the
scheduler advanced it). Either is ``Conflict``; reading again and re-applying is correct
because a PUT states the whole wanted result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from onewatch.errors import Conflict

T = TypeVar("T")

PUT_ATTEMPTS = 3


async def retry_lost_race(attempt: Callable[[], Awaitable[T]], tries: int = PUT_ATTEMPTS) -> T:
    for remaining in range(tries - 1, -1, -1):
        try:
            return await attempt()
        except Conflict:
            if remaining == 0:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
