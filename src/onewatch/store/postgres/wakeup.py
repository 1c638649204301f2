"""Wake-ups across nodes over PostgreSQL LISTEN/NOTIFY, with a bounded poll fallback.

One dedicated asyncpg connection per node (not from the engine's pool: a pooled
connection is handed to others and would drop the LISTEN) carries every channel. A
``PgWakeUp`` per channel implements ``ports.WakeUp``:

- ``notify()`` wakes this process at once and asks the connection's task to send one
  ``pg_notify``; it never waits on the network. Bursts coalesce into one NOTIFY, and a
  notify made while the connection is down is sent once it is back.
- ``wait(seconds)`` returns True when notified. While the connection is down it waits
  at most ``poll_seconds`` (the caller then re-reads the store: a bounded poll), and
  each loss or (re)connection wakes every channel, since notifications may have been
  missed in between.

Writers that want the wake-up tied to their commit use ``notify_in_transaction``: the
NOTIFY is sent by PostgreSQL only if the transaction commits, to every node (this one
included, through its listener).

Not through PgBouncer in transaction mode: LISTEN needs a session of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.postgres.engine import libpq_url

log = structlog.get_logger(__name__)

#: Events changed: schedulers re-read the earliest due time.
EVENTS_CHANNEL = "onewatch_events"
#: Deliveries became ready: dispatchers (or, in queue mode, relays) look for work.
DELIVERIES_CHANNEL = "onewatch_deliveries"

_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def wakeup_hub_for(database_url: str, **options: float) -> PgWakeUpHub:
    """The cross-node hub for a PostgreSQL store (channels made, not started yet)."""
    hub = PgWakeUpHub(database_url, **options)
    hub.channel(EVENTS_CHANNEL)
    hub.channel(DELIVERIES_CHANNEL)
    return hub


async def notify_in_transaction(connection: AsyncConnection, channel: str) -> None:
    """Queue a NOTIFY on ``channel`` inside the caller's transaction (sent on commit)."""
    await connection.execute(select(func.pg_notify(channel, "")))


class PgWakeUp:
    """One channel of a ``PgWakeUpHub``; the ``ports.WakeUp`` the roles use."""

    def __init__(self, hub: PgWakeUpHub, channel: str) -> None:
        self._hub = hub
        self.channel = channel
        self._event = asyncio.Event()

    def notify(self, due: datetime | None = None) -> None:
        """Wake every node's waiter; ``due`` is not used (other nodes' alarms are unknown)."""
        self._event.set()
        self._hub.publish(self.channel)

    async def wait(self, seconds: float, earliest: datetime | None = None) -> bool:
        if not self._hub.connected:
            seconds = min(seconds, self._hub.poll_seconds)
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True

    def wake_locally(self) -> None:
        self._event.set()


class PgWakeUpHub:
    """The node's LISTEN connection: keeps it up, routes notifications, sends NOTIFYs."""

    def __init__(
        self,
        database_url: str,
        *,
        poll_seconds: float = 2.0,
        keepalive_seconds: float = 10.0,
        max_reconnect_delay: float = 5.0,
    ) -> None:
        self._dsn = libpq_url(database_url)
        self.poll_seconds = poll_seconds
        self._keepalive_seconds = keepalive_seconds
        self._max_reconnect_delay = max_reconnect_delay
        self._origin = uuid.uuid4().hex
        self._channels: dict[str, PgWakeUp] = {}
        self._pending: set[str] = set()
        self._attention = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.backend_pid: int | None = None
        #: Counters for tests and metrics: NOTIFYs sent, foreign notifications received.
        self.sent = 0
        self.received = 0

    def channel(self, name: str) -> PgWakeUp:
        """The wake-up for ``name``; every channel must exist before ``start``."""
        if self._task is not None and name not in self._channels:
            raise RuntimeError("create every channel before PgWakeUpHub.start()")
        return self._channels.setdefault(name, PgWakeUp(self, name))

    def publish(self, channel: str) -> None:
        """Ask the connection's task to NOTIFY ``channel`` (never blocks)."""
        self._pending.add(channel)
        self._attention.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="onewatch-pg-wakeup")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _supervise(self) -> None:
        delay = 0.05
        while True:
            try:
                connection = await asyncpg.connect(self._dsn, timeout=self._keepalive_seconds)
            except _CONNECTION_ERRORS as exc:
                log.warning("wake-up listener cannot connect", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            delay = 0.05
            await self._serve_until_lost(connection)

    async def _serve_until_lost(self, connection: asyncpg.Connection) -> None:
        try:
            await self._listen(connection)
            await self._pump(connection)
        except _CONNECTION_ERRORS as exc:
            log.warning("wake-up listener lost its connection", error=str(exc))
        finally:
            self._set_connected(False, None)
            connection.terminate()

    async def _listen(self, connection: asyncpg.Connection) -> None:
        connection.add_termination_listener(lambda _connection: self._attention.set())
        for name in self._channels:
            await connection.add_listener(name, self._on_notification)
        self._set_connected(True, connection.get_server_pid())

    async def _pump(self, connection: asyncpg.Connection) -> None:
        """Send what was asked for; ping when idle, so a dead link is noticed."""
        while not connection.is_closed():
            try:
                async with asyncio.timeout(self._keepalive_seconds):
                    await self._attention.wait()
            except TimeoutError:
                await connection.fetchval("SELECT 1", timeout=self._keepalive_seconds)
                continue
            self._attention.clear()
            await self._send_pending(connection)

    async def _send_pending(self, connection: asyncpg.Connection) -> None:
        while self._pending and not connection.is_closed():
            channel = next(iter(self._pending))
            await connection.execute("SELECT pg_notify($1, $2)", channel, self._origin)
            self._pending.discard(channel)
            self.sent += 1

    def _on_notification(
        self, _connection: object, _pid: int, channel: str, payload: object
    ) -> None:
        if payload == self._origin:
            return  # our own NOTIFY: this process was woken when it was asked
        self.received += 1
        if channel in self._channels:
            self._channels[channel].wake_locally()

    def _set_connected(self, connected: bool, backend_pid: int | None) -> None:
        changed = connected != self.connected
        self.connected = connected
        self.backend_pid = backend_pid
        if changed:
            # Anything may have changed while nobody listened: everyone re-reads.
            for wakeup in self._channels.values():
                wakeup.wake_locally()
