"""The background roles a node can run beside the API, by name."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from onewatch.delivery.client import create_session
from onewatch.delivery.headers import RequestSigner
from onewatch.delivery.host_slots import HostSlots
from onewatch.delivery.signing_source import SigningSecretSource
from onewatch.domain.retry import system_random
from onewatch.engine.attempt import AttemptTools
from onewatch.engine.dispatcher import Dispatcher
from onewatch.engine.maintenance import run_maintenance
from onewatch.engine.scheduler import Scheduler
from onewatch.engine.sources import DeliverySource, TableSource
from onewatch.runtime import RoleRunner, Runtime
from onewatch.security.secrets_crypto import keyring_from_settings


async def run_scheduler(runtime: Runtime, stop: asyncio.Event) -> None:
    await Scheduler(runtime).run(stop)


def table_source(runtime: Runtime) -> DeliverySource:
    settings = runtime.settings
    return TableSource(
        runtime.store,
        lookahead_seconds=settings.dispatcher_lookahead_seconds,
        lease_seconds=settings.dispatcher_lease_seconds,
        holder=runtime.node_id,
    )


def delivery_source(runtime: Runtime) -> contextlib.AbstractAsyncContextManager[DeliverySource]:
    """The deliveries table, or with a queue URL this node's Redis stream consumer."""
    if runtime.settings.queue_url:
        # Imported only in queue mode: the Redis client is megabytes of RSS otherwise.
        from onewatch.engine.stream_source import stream_source

        return stream_source(runtime)
    return contextlib.nullcontext(table_source(runtime))


def request_signer(runtime: Runtime) -> RequestSigner | None:
    """Standard Webhooks signing with each service's secrets (from the store, cached)."""
    return SigningSecretSource(
        runtime.store,
        keyring_from_settings(runtime.settings),
        runtime.clock,
        cache_seconds=runtime.settings.signing_secret_cache_seconds,
    )


async def run_dispatcher(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    async with create_session(settings) as session, delivery_source(runtime) as source:
        tools = AttemptTools(
            session=session,
            clock=runtime.clock,
            rng=system_random(),
            metrics=runtime.metrics,
            excerpt_bytes=settings.response_excerpt_bytes,
            connect_timeout=settings.http_connect_timeout_seconds,
            signer=request_signer(runtime),
            host_slots=HostSlots(settings.dispatcher_per_host_limit),
        )
        dispatcher = Dispatcher(runtime, source, tools)
        # Queue mode: the relay that feeds the stream runs beside every dispatcher.
        relay = [_queue_relay(runtime, stop)] if settings.queue_url else []
        await asyncio.gather(dispatcher.run(stop), run_maintenance(runtime, stop), *relay)


def _queue_relay(runtime: Runtime, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    from onewatch.engine.stream_source import run_queue_relay

    return run_queue_relay(runtime, stop)


def background_roles() -> dict[str, RoleRunner]:
    """Role name -> runner; ``Runtime.start`` runs those the settings enable."""
    return {"scheduler": run_scheduler, "dispatcher": run_dispatcher}
