"""One node: the settings, the store and the roles it runs, started and stopped together.

``onewatch serve`` builds one ``Runtime`` and hands it to the API app; the app's lifespan
starts the background roles (scheduler, dispatcher) on the same event loop, so the
default single process needs no other server.

The node's two wake-ups are its store's (``Store.wakeups``): on PostgreSQL they travel
over LISTEN/NOTIFY, so an event changed through any node's API wakes every scheduler,
and new deliveries wake every dispatcher; on SQLite, the single node's stay in process.
Every node, whatever its roles, keeps its row in ``nodes`` fresh (``engine.heartbeat``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from onewatch.clock import Clock, SystemClock
from onewatch.engine.beat_chain import BeatChain
from onewatch.engine.heartbeat import run_heartbeat
from onewatch.observability.metrics import Metrics
from onewatch.observability.tracing import tracing_from_environment
from onewatch.ports import Store, WakeUp
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.records import new_node_id
from onewatch.wakeup import LocalWakeUp

if TYPE_CHECKING:
    from onewatch.observability.otel import Tracing

__all__ = ["LocalWakeUp", "RoleRunner", "Runtime"]


#: A background role: runs until ``stop`` is set, then returns after its clean-up.
RoleRunner = Callable[["Runtime", asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """Everything a node shares between its roles."""

    settings: Settings
    store: Store
    clock: Clock = field(default_factory=SystemClock)
    #: This process's identity in ``nodes`` (and its Redis consumer name).
    node_id: str = field(default_factory=new_node_id)
    #: This node's Prometheus registry (one per runtime, so tests never share one).
    metrics: Metrics = field(default_factory=Metrics)
    #: Reports this node in ``nodes``; every node runs it, whatever its roles.
    heartbeat: RoleRunner = run_heartbeat
    #: Spans of this node's deliveries and API requests; None unless the OTEL_*
    #: environment configures an exporter (``observability.tracing``).
    tracing: Tracing | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _heartbeat_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _heartbeat_task: asyncio.Task[None] | None = None
    #: Events changed: the scheduler re-reads the earliest due time (the store's).
    wakeup: WakeUp = field(init=False)
    #: Deliveries became ready (new, run now, redrive, reclaimed): dispatchers claim.
    dispatch_wakeup: WakeUp = field(init=False)
    #: Until when this node's leases are safe from a take-over (its heartbeats).
    beat_chain: BeatChain = field(init=False)

    def __post_init__(self) -> None:
        self.wakeup, self.dispatch_wakeup = self.store.wakeups()
        self.beat_chain = BeatChain(self.clock, self.settings.node_takeover_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        runtime = cls(settings=settings, store=open_store(settings.resolved_database_url))
        runtime.tracing = tracing_from_environment(runtime.node_id)
        return runtime

    async def start(self, roles: dict[str, RoleRunner]) -> None:
        """Migrate if asked, start the wake-ups and the heartbeat, then each background
        role the settings enable."""
        if self.settings.migrate_on_start:
            await self.store.migrate()
        await self.store.start()
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
        await self.store.dispose()
        tracing, self.tracing = self.tracing, None
        if tracing is not None:
            # The last spans (the roles' final attempts) leave now, off the event loop.
            await asyncio.to_thread(tracing.shutdown)
