"""The in-process wake-up skips only a change that cannot move its waiter's alarm."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from onewatch.runtime import LocalWakeUp

KNOWN = datetime(2030, 1, 1, tzinfo=UTC)


async def _woken(wakeup: LocalWakeUp, earliest: datetime | None, due: datetime | None) -> bool:
    """Whether a waiter that knows ``earliest`` is woken by ``notify(due)``."""
    waiter = asyncio.create_task(wakeup.wait(1.0, earliest))
    await asyncio.sleep(0)  # the waiter is waiting now
    wakeup.notify(due)
    return await waiter


async def test_a_change_due_no_sooner_than_the_alarm_lets_it_sleep() -> None:
    assert not await _woken(LocalWakeUp(), KNOWN, KNOWN)
    assert not await _woken(LocalWakeUp(), KNOWN, KNOWN + timedelta(days=10))


async def test_a_sooner_change_an_unknown_one_or_an_idle_waiter_wakes_it() -> None:
    assert await _woken(LocalWakeUp(), KNOWN, KNOWN - timedelta(seconds=1))
    assert await _woken(LocalWakeUp(), KNOWN, None)
    assert await _woken(LocalWakeUp(), None, KNOWN)


async def test_a_change_made_before_the_wait_counts_only_if_it_is_sooner() -> None:
    """The scheduler may have read the store before the change: a sooner one must wake it."""
    wakeup = LocalWakeUp()
    wakeup.notify(KNOWN + timedelta(days=10))
    assert not await wakeup.wait(0.05, KNOWN)
    wakeup.notify(KNOWN + timedelta(days=10))
    wakeup.notify(KNOWN - timedelta(seconds=1))
    assert await wakeup.wait(0.5, KNOWN)
    assert not await wakeup.wait(0, KNOWN)
    wakeup.notify()
    assert await wakeup.wait(0.5, KNOWN)
