"""Sleeping until the first of several things happens, without a fixed tick."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from onewatch.clock import Clock


async def first_of(*waits: Coroutine[Any, Any, Any], seconds: float) -> None:
    """Return when any of ``waits`` finishes or ``seconds`` pass; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def sleep_until(moment: datetime, clock: Clock) -> None:
    """Sleep until ``clock`` reads ``moment`` or later: never return early.

    The loop's timers run on the monotonic clock and may fire a little before the
    requested instant (uvloop rounds to milliseconds); the wall clock decides.
    """
    while True:
        remaining = (moment - clock.now()).total_seconds()
        if remaining <= 0:
            return
        await asyncio.sleep(remaining)
