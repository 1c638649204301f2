"""The job every APScheduler baseline job runs: one async HTTP POST to the sink.

Its own module so the job store pickles a stable reference (``bench.aps_jobs:post``),
the way a user's application module would be referenced.
"""

from __future__ import annotations

import aiohttp

_session: aiohttp.ClientSession | None = None


def open_session() -> aiohttp.ClientSession:
    """One pooled session for the process, as a careful user would keep."""
    global _session
    _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    return _session


async def post(url: str, key: str, due: str) -> None:
    """Send the webhook with the same identifying headers Onewatch sends."""
    assert _session is not None, "open_session() first"
    headers = {"webhook-id": key, "Onewatch-Scheduled-For": due}
    async with _session.post(url, json={"key": key}, headers=headers) as response:
        await response.read()
