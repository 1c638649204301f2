"""One node: the settings, the store and the roles it runs, started and stopped together.

``onewatch serve`` builds one ``Runtime`` and hands it to the API app; the app's lifespan
starts the background roles (scheduler, dispatcher) on the same event loop, so the
default single process needs no other server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import Clock, SystemClock
from onewatch.observability.metrics import Metrics
from onewatch.settings import Settings
from onewatch.store.database import create_engine
from onewatch.store.migrate import upgrade_to_head
from onewatch.store.nodes import new_node_id


class LocalWakeUp:
    """In-process wake-up signal between the API and the scheduler."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


#: A background role: runs until ``stop`` is set, then returns after its clean-up.
RoleRunner = Callable[["Runtime", asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """Everything a node shares between its roles."""

    settings: Settings
    engine: AsyncEngine
    clock: Clock = field(default_factory=SystemClock)
    #: This process's identity in ``nodes`` (and its Redis consumer name).
    node_id: str = field(default_factory=new_node_id)
    #: Events changed: the scheduler re-reads the earliest due time.
    wakeup: LocalWakeUp = field(default_factory=LocalWakeUp)
    #: Deliveries became ready (run now, redrive): the dispatcher claims at once.
    dispatch_wakeup: LocalWakeUp = field(default_factory=LocalWakeUp)
    #: This node's Prometheus registry (one per runtime, so tests never share one).
    metrics: Metrics = field(default_factory=Metrics)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(settings=settings, engine=create_engine(settings.resolved_database_url))

    async def start(self, roles: dict[str, RoleRunner]) -> None:
        """Migrate if asked, then start each background role the settings enable."""
        if self.settings.migrate_on_start:
            await upgrade_to_head(self.engine)
        for name, runner in roles.items():
            if name in self.settings.roles:
                task = asyncio.create_task(runner(self, self._stop), name=f"onewatch-{name}")
                self._tasks.append(task)

    async def stop(self) -> None:
        """Ask every role to stop, wait for their clean-up, then close the store."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.engine.dispose()
