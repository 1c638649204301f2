"""Helpers shared by the runners: when to stop waiting, reading a child's output."""

from __future__ import annotations

import selectors
import subprocess
import time
from datetime import UTC, datetime

from bench.config import Sizes
from bench.sink import Waiting


def monotonic_at(moment: datetime) -> float:
    """The ``time.monotonic`` value at a wall-clock instant."""
    return time.monotonic() + (moment - datetime.now(UTC)).total_seconds()


def sleep_until(moment: datetime) -> None:
    """Block until a wall-clock instant (at once if it has passed)."""
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def waiting_for(last_due: datetime, sizes: Sizes) -> Waiting:
    """Stop at the drain bound after the last due instant, or once the sink is quiet."""
    after = monotonic_at(last_due)
    return Waiting(
        deadline=after + sizes.drain_bound_seconds,
        quiet_after=after,
        quiet_seconds=sizes.quiet_seconds,
    )


def read_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The child's next stdout line, or None when it exits or the timeout passes."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = process.stdout.readline()
                return line or None
            if process.poll() is not None:
                return None
    return None


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")
