"""Waiting on a condition with a deadline, never on a bare sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 10.0, every: float = 0.01
) -> None:
    """Return once ``check()`` holds (asked ``every`` seconds); fail with TimeoutError
    after ``seconds``."""
    async with asyncio.timeout(seconds):
        while True:
            if await check():
                return
            await asyncio.sleep(every)
