"""The contracts between Onewatch's parts, with the duties each implementation owes.

Backends (SQLite, PostgreSQL; the deliveries table or Redis Streams) live behind these,
so the scheduler, dispatcher and API never know which one they talk to.
"""

from __future__ import annotations

from typing import Protocol


class WakeUp(Protocol):
    """Tells the scheduler that events changed, so it re-reads the earliest due time.

    ``notify`` must be cheap and never block the caller (the API calls it after every
    committed event change); ``wait`` returns when notified or when ``seconds`` pass,
    and returns whether it was notified. Across nodes (PostgreSQL) this is carried by
    LISTEN/NOTIFY; in one process by an ``asyncio.Event``.
    """

    def notify(self) -> None: ...

    async def wait(self, seconds: float) -> bool: ...
