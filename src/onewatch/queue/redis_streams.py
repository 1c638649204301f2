"""Dispatch over Redis Streams, with the deliveries table as the truth.

Two halves:

- ``DeliveryRelay`` moves ready deliveries from the table onto the stream. In one
  transaction it locks a batch of ready rows (``FOR UPDATE SKIP LOCKED``, so several
  relays share the work), ``XADD``s their ids, and stamps ``published_at``. If Redis is
  unreachable the transaction rolls back and the rows wait. A row is published again
  when a new attempt became due after its last publication (a retry, a redrive), or when
  it stayed unclaimed for ``republish_after`` (Redis lost the entry): duplicates are
  harmless, since dispatchers claim each delivery in the table with a conditional update.
- ``RedisStreamSource`` is the dispatcher's ``ports.DeliverySource``: it reads through a
  consumer group (``XREADGROUP``), first reclaiming entries left idle by a dead consumer
  (``XAUTOCLAIM``), and acknowledges an entry (``XACK`` + ``XDEL``) only in ``done``,
  after the dispatcher recorded the result.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import SQLAlchemyError

from onewatch.clock import Clock
from onewatch.errors import ConfigurationError
from onewatch.ports import Store

if TYPE_CHECKING:
    from onewatch.runtime import RoleRunner, Runtime

log = structlog.get_logger(__name__)

#: The field of a stream entry that carries the delivery id.
DELIVERY_FIELD = "delivery"


@dataclass(frozen=True)
class StreamNames:
    """Where the work travels: one stream and the dispatchers' consumer group."""

    stream: str = "onewatch:deliveries"
    group: str = "onewatch-dispatchers"


#: No Redis call may hang for longer than this (a blocking read adds its block time):
#: the relay holds row locks while it appends, so a stuck call would stall dispatchers.
REDIS_CALL_TIMEOUT = timedelta(seconds=5)


def redis_client(queue_url: str) -> Redis:
    """A client for ``ONEWATCH_QUEUE_URL`` (``redis://host:6379/0``)."""
    if not queue_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("use redis://, rediss:// or unix://", field="queue_url")
    # A socket timeout too, so no read waits for ever on a server that went silent
    # (consumers block for ``block``, which must stay well below it).
    return Redis.from_url(
        queue_url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=2 * REDIS_CALL_TIMEOUT.total_seconds(),
    )


@contextlib.asynccontextmanager
async def _bounded(extra: timedelta = timedelta(0)) -> AsyncIterator[None]:
    """Turn a Redis call that outlives its bound into a ``RedisError`` (an outage)."""
    try:
        async with asyncio.timeout((REDIS_CALL_TIMEOUT + extra).total_seconds()):
            yield
    except TimeoutError as exc:
        raise RedisTimeoutError("no answer from Redis in time") from exc


async def _done(value: Awaitable[Any] | Any) -> Any:
    # redis-py types its methods for both clients (sync | awaitable); this one is async.
    if isinstance(value, Awaitable):
        return await value
    return value


async def ensure_group(client: Redis, names: StreamNames) -> None:
    """Create the stream and its group (from the first entry) unless they exist."""
    try:
        await _done(client.xgroup_create(names.stream, names.group, id="0", mkstream=True))
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class DeliveryRelay:
    """Publishes ready deliveries to the stream; see the module docstring for the rules."""

    def __init__(
        self,
        store: Store,
        client: Redis,
        clock: Clock,
        names: StreamNames = StreamNames(),
        *,
        batch_size: int = 500,
        republish_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self._store = store
        self._client = client
        self._clock = clock
        self._names = names
        self._batch_size = batch_size
        self._republish_after = republish_after

    async def publish_ready(self) -> int:
        """Publish every delivery that needs it; returns how many. Raises ``RedisError``
        (having stamped nothing) when Redis cannot be reached."""
        total = 0
        while True:
            published = await self._publish_batch()
            total += published
            if published < self._batch_size:
                return total

    async def _publish_batch(self) -> int:
        now = self._clock.now()
        return await self._store.publish_ready(
            now, republish_after=self._republish_after, limit=self._batch_size, append=self._append
        )

    async def _append(self, ids: Sequence[str]) -> None:
        async with _bounded():
            await self._append_unbounded(ids)

    async def _append_unbounded(self, ids: Sequence[str]) -> None:
        await ensure_group(self._client, self._names)
        async with self._client.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.xadd(self._names.stream, {DELIVERY_FIELD: delivery_id})
            await pipe.execute()

    async def next_attempt_after(self, now: datetime) -> datetime | None:
        """The earliest attempt still in the future: when the relay has work next."""
        return await self._store.next_ready_attempt_after(now)


class RedisStreamSource:
    """``ports.DeliverySource`` over a consumer group; one per dispatcher node."""

    def __init__(
        self,
        client: Redis,
        consumer: str,
        names: StreamNames = StreamNames(),
        *,
        block: timedelta = timedelta(seconds=1),
        claim_idle: timedelta = timedelta(seconds=60),
        outage_pause: timedelta = timedelta(milliseconds=500),
    ) -> None:
        self._client = client
        self._consumer = consumer
        self._names = names
        self._block_ms = max(1, int(block.total_seconds() * 1000))
        self._claim_idle_ms = max(1, int(claim_idle.total_seconds() * 1000))
        self._outage_pause = outage_pause.total_seconds()
        self._claim_cursor = "0-0"
        self._group_ready = False
        #: Delivery id -> the stream entries that carried it, until ``done``.
        self._entries: dict[str, list[str]] = {}

    async def next_batch(self, limit: int) -> list[str]:
        try:
            async with _bounded(extra=timedelta(milliseconds=self._block_ms)):
                return await self._next_batch(limit)
        except RedisError as exc:
            log.warning("dispatch queue unavailable", error=str(exc))
            self._group_ready = False
            await asyncio.sleep(self._outage_pause)
            return []

    async def _next_batch(self, limit: int) -> list[str]:
        if not self._group_ready:
            await ensure_group(self._client, self._names)
            self._group_ready = True
        found = await self._reclaim(limit)
        if len(found) < limit:
            block = None if found else self._block_ms
            found += await self._read_new(limit - len(found), block)
        return self._remember(found)

    async def _reclaim(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        """Entries another (dead) consumer took and left idle for ``claim_idle``."""
        reply: list[Any] = await _done(
            self._client.xautoclaim(
                self._names.stream,
                self._names.group,
                self._consumer,
                min_idle_time=self._claim_idle_ms,
                start_id=self._claim_cursor,
                count=limit,
            )
        )
        self._claim_cursor = reply[0]
        return list(reply[1])

    async def _read_new(self, count: int, block: int | None) -> list[tuple[str, dict[str, str]]]:
        reply: list[Any] = await _done(
            self._client.xreadgroup(
                self._names.group,
                self._consumer,
                {self._names.stream: ">"},
                count=count,
                block=block,
            )
        )
        return [entry for _stream, entries in reply or [] for entry in entries]

    def _remember(self, entries: list[tuple[str, dict[str, str]]]) -> list[str]:
        ids: list[str] = []
        for entry_id, fields in entries:
            delivery_id = fields.get(DELIVERY_FIELD) if fields else None
            if delivery_id is None:
                continue  # deleted meanwhile, or not ours
            if delivery_id not in self._entries:
                ids.append(delivery_id)
            self._entries.setdefault(delivery_id, []).append(entry_id)
        return ids

    async def done(self, ids: list[str]) -> None:
        entry_ids = [entry for i in ids for entry in self._entries.pop(i, [])]
        if not entry_ids:
            return
        try:
            async with _bounded(), self._client.pipeline(transaction=False) as pipe:
                pipe.xack(self._names.stream, self._names.group, *entry_ids)
                pipe.xdel(self._names.stream, *entry_ids)
                await pipe.execute()
        except RedisError as exc:
            # Unacknowledged entries come back through XAUTOCLAIM; the store refuses
            # a second claim of a finished delivery, so nothing is sent twice for this.
            log.warning("could not acknowledge stream entries", error=str(exc))


async def _wait_for_work(runtime: Runtime, relay: DeliveryRelay, poll_seconds: float) -> None:
    now = runtime.clock.now()
    seconds = poll_seconds
    with contextlib.suppress(SQLAlchemyError, OSError):
        upcoming = await relay.next_attempt_after(now)
        if upcoming is not None:
            seconds = min(seconds, max(0.0, (upcoming - now).total_seconds()))
    await runtime.dispatch_wakeup.wait(seconds)


def relay_runner(
    names: StreamNames = StreamNames(),
    *,
    poll_seconds: float = 1.0,
    republish_after: timedelta = timedelta(seconds=60),
) -> RoleRunner:
    """A role runner publishing ready deliveries until ``stop``; woken by the node's
    ``dispatch_wakeup`` (deliveries became ready) or when the next retry falls due."""

    async def run_relay(runtime: Runtime, stop: asyncio.Event) -> None:
        if not runtime.settings.queue_url:
            raise ConfigurationError("the relay needs a queue URL", field="queue_url")
        client = redis_client(runtime.settings.queue_url)
        relay = DeliveryRelay(
            runtime.store, client, runtime.clock, names, republish_after=republish_after
        )
        try:
            while not stop.is_set():
                try:
                    await relay.publish_ready()
                except (RedisError, SQLAlchemyError, OSError) as exc:
                    log.warning("relay could not publish; deliveries wait", error=str(exc))
                await _wait_for_work(runtime, relay, poll_seconds)
        finally:
            await client.aclose()

    return run_relay


#: The relay with its default timing, for ``Runtime.start``.
run_relay = relay_runner()
