"""Waiting on a condition with a deadline (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(
    condition: Callable[[], bool], *, within: float = 30.0, what: str = "the condition"
) -> None:
    """Return once ``condition()`` holds; ``TimeoutError`` naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.02)
