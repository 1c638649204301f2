"""One node: the settings, the store and the roles it runs, started and stopped together.

``onewatch serve`` builds one ``Runtime`` and hands it to the API app; the app's lifespan
starts the background roles (scheduler, dispatcher) on the same event loop, so the
default single process needs no other server.

On PostgreSQL the node's wake-ups travel over LISTEN/NOTIFY (``store.pg_wakeup``), so an
event changed through any node's API wakes every scheduler, and new deliveries wake
every dispatcher; on SQLite, the single node's wake-ups stay in process. Every node,
whatever its roles, keeps its row in ``nodes`` fresh (``engine.heartbeat``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.clock import Clock, SystemClock
from onewatch.engine.heartbeat import run_heartbeat
from onewatch.observability.metrics import Metrics
from onewatch.observability.tracing import tracing_from_environment
from onewatch.ports import WakeUp
from onewatch.settings import Settings
from onewatch.store.database import create_engine, is_sqlite
from onewatch.store.migrate import upgrade_to_head
from onewatch.store.nodes import new_node_id

if TYPE_CHECKING:
    from onewatch.observability.otel import Tracing
    from onewatch.store.pg_wakeup import PgWakeUpHub


class LocalWakeUp:
    """In-process wake-up signal between the API and the scheduler.

    A change due no sooner than what the waiter sleeps for (``wait``'s ``earliest``) is
    dropped, whether it comes during the wait or before it: either way the waiter wakes
    in time for it and reads the store again then.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        #: Whether a notify came since the last wait consumed them, and the soonest due
        #: among those (None: unknown, so any waiter must look).
        self._notified = False
        self._soonest: datetime | None = None
        #: What each current waiter sleeps for (None: nothing known).
        self._waiting: list[datetime | None] = []

    def notify(self, due: datetime | None = None) -> None:
        if not self._notified:
            self._notified, self._soonest = True, due
        elif due is None or self._soonest is None:
            self._soonest = None
        else:
            self._soonest = min(self._soonest, due)
        if not self._waiting or any(_moves(due, known) for known in self._waiting):
            self._event.set()

    async def wait(self, seconds: float, earliest: datetime | None = None) -> bool:
        if self._notified:
            woken = _moves(self._soonest, earliest)
            self._consume()
            if woken:
                return True
        self._waiting.append(earliest)
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting.remove(earliest)
        self._consume()
        return True

    def _consume(self) -> None:
        self._notified, self._soonest = False, None
        self._event.clear()


def _moves(due: datetime | None, earliest: datetime | None) -> bool:
    """Whether a change due at ``due`` can bring forward an alarm set for ``earliest``."""
    return due is None or earliest is None or due < earliest


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
    wakeup: WakeUp = field(default_factory=LocalWakeUp)
    #: Deliveries became ready (new, run now, redrive, reclaimed): dispatchers claim.
    dispatch_wakeup: WakeUp = field(default_factory=LocalWakeUp)
    #: This node's Prometheus registry (one per runtime, so tests never share one).
    metrics: Metrics = field(default_factory=Metrics)
    #: The LISTEN connection carrying both wake-ups across nodes (PostgreSQL only).
    wakeup_hub: PgWakeUpHub | None = None
    #: Reports this node in ``nodes``; every node runs it, whatever its roles.
    heartbeat: RoleRunner = run_heartbeat
    #: Spans of this node's deliveries and API requests; None unless the OTEL_*
    #: environment configures an exporter (``observability.tracing``).
    tracing: Tracing | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _heartbeat_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _heartbeat_task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        url = settings.resolved_database_url
        runtime = cls(settings=settings, engine=create_engine(url))
        runtime.tracing = tracing_from_environment(runtime.node_id)
        if is_sqlite(runtime.engine):
            # The single SQLite node keeps its wake-ups in process, and never loads the
            # PostgreSQL driver (asyncpg) that the hub needs: megabytes of a node's RSS.
            return runtime
        from onewatch.store.pg_wakeup import wakeup_hub_for

        hub = wakeup_hub_for(url)
        if hub is not None:
            runtime.use_wakeup_hub(hub)
        return runtime

    def use_wakeup_hub(self, hub: PgWakeUpHub) -> None:
        """Carry both wake-ups over ``hub`` (before ``start``, which starts it)."""
        from onewatch.store.pg_wakeup import DELIVERIES_CHANNEL, EVENTS_CHANNEL

        self.wakeup_hub = hub
        self.wakeup = hub.channel(EVENTS_CHANNEL)
        self.dispatch_wakeup = hub.channel(DELIVERIES_CHANNEL)

    async def start(self, roles: dict[str, RoleRunner]) -> None:
        """Migrate if asked, start the wake-ups and the heartbeat, then each background
        role the settings enable."""
        if self.settings.migrate_on_start:
            await upgrade_to_head(self.engine)
        if self.wakeup_hub is not None:
            await self.wakeup_hub.start()
        self._heartbeat_task = asyncio.create_task(
            self.heartbeat(self, self._heartbeat_stop), name="onewatch-heartbeat"
        )
        for name, runner in roles.items():
            if name in self.settings.roles:
                task = asyncio.create_task(runner(self, self._stop), name=f"onewatch-{name}")
                self._tasks.append(task)

    async def stop(self) -> None:
        """Ask every role to stop and wait for their clean-up; then report the node
        stopped (after its work, not before), close the wake-ups and the store, and
        export the spans still queued."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._heartbeat_stop.set()
        if self._heartbeat_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
            self._heartbeat_task = None
        if self.wakeup_hub is not None:
            await self.wakeup_hub.close()
        await self.engine.dispose()
        tracing, self.tracing = self.tracing, None
        if tracing is not None:
            # The last spans (the roles' final attempts) leave now, off the event loop.
            await asyncio.to_thread(tracing.shutdown)
