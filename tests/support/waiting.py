"""Waiting on a condition with a deadline (never sleep-and-hope): the one helper all tests use."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_for(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    seconds: float = 10.0,
    every: float = 0.02,
    what: str = "the condition",
) -> None:
    """Return once ``condition()`` (plain or awaitable) holds, asked every ``every``
    seconds; ``TimeoutError`` naming ``what`` after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(every)
