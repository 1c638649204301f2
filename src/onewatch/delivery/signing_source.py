"""Where the dispatcher's signer gets each service's secrets: the store, cached briefly.

The secrets themselves (sealed at rest, created on a service's first delivery) are
``store.signing_secrets``; this is the per-node cache in front of it, and the
``RequestSigner`` the dispatcher hands every outbound request to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from onewatch.clock import Clock
from onewatch.delivery.request import OutboundRequest
from onewatch.delivery.signing import signature_headers
from onewatch.ports import Store
from onewatch.security.secrets_crypto import Keyring


class SigningSecretSource:
    """The dispatcher's signer: signing headers per request, active secrets cached briefly.

    The cache (``cache_seconds``, default 5) keeps the store out of the hot path; a
    rotation or revocation reaches every dispatcher within it, well inside any sane
    overlap. A per-service lock makes a burst of a new service's first deliveries
    read (and create) its secret once, not once per delivery.
    """

    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        clock: Clock,
        *,
        cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _cached(self, service: str) -> list[str] | None:
        cached = self._cache.get(service)
        if cached is not None and self._monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        return None

    async def secrets_for(self, service: str) -> list[str]:
        """The plaintexts that sign ``service``'s requests now (newest first)."""
        found = self._cached(service)
        if found is not None:
            return found
        async with self._locks.setdefault(service, asyncio.Lock()):
            found = self._cached(service)  # another task filled it while this one waited
            if found is None:
                found = await self._store.read_or_create_active_secrets(
                    self._keyring, service, self._clock.now()
                )
                self._cache[service] = (self._monotonic(), found)
        return found

    async def headers(
        self, service: str, delivery_id: str, timestamp: datetime | int, body: bytes
    ) -> dict[str, str]:
        """``webhook-id``/``-timestamp``/``-signature`` for one attempt's exact body."""
        return signature_headers(await self.secrets_for(service), delivery_id, timestamp, body)

    async def sign(self, request: OutboundRequest, *, service: str) -> dict[str, str]:
        """``RequestSigner``: sign the request's own ``webhook-id``/``-timestamp`` and body."""
        message_id = request.headers["webhook-id"]
        timestamp = int(request.headers["webhook-timestamp"])
        return await self.headers(service, message_id, timestamp, request.body or b"")

    def forget(self, service: str) -> None:
        """Drop the cached secrets of ``service`` (after a rotation on this node)."""
        self._cache.pop(service, None)
