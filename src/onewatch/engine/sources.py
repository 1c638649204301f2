"""Where a dispatcher's candidate deliveries come from: the one seam between queues.

The default reads ready rows straight from the deliveries table. A stream-fed source
(Redis Streams, ``engine.stream_source``) hands the dispatcher ids instead and claims
them with ``store.deliveries.claim_by_ids``; leasing, sending and recording stay the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from onewatch.ports import Store
from onewatch.store.records import ClaimedDelivery


class DeliverySource(Protocol):
    """Hands out leased deliveries.

    ``claim`` returns at most ``limit`` deliveries now leased to the caller (status
    running, a fresh lease token), due by ``now`` plus the source's look-ahead.
    ``next_ready_at`` tells when the next one will be due, or None when unknown; the
    dispatcher sleeps until then (bounded by its poll interval) unless woken. A source
    whose ``claim`` itself waits a short, bounded while for work (``waits_for_work``) is
    called again at once instead. ``settled`` is told, without waiting, of deliveries
    whose result is recorded, and ``given_back`` of those released unsent while the
    node runs (a bug, a service at its quota): a queue acknowledges them, and makes the
    given-back ones available again at once.

    ``skip_services`` names services whose earlier deliveries still wait in the
    dispatcher for a slot (their target is slow or hangs): a source should hand out
    none of theirs, and tell when the next one of the others is due, so that a backlog
    of one service cannot fill every claim while other services' deliveries are due.
    """

    waits_for_work: bool

    async def claim(
        self, *, now: datetime, limit: int, skip_services: frozenset[str] = frozenset()
    ) -> list[ClaimedDelivery]: ...

    async def next_ready_at(
        self, *, skip_services: frozenset[str] = frozenset()
    ) -> datetime | None: ...

    def settled(self, ids: list[str]) -> None: ...

    def given_back(self, ids: list[str]) -> None: ...


class TableSource:
    """Claims ready rows from the deliveries table with a lease."""

    #: The dispatcher sleeps between claims until the next row is due.
    waits_for_work = False

    def __init__(
        self,
        store: Store,
        *,
        lookahead_seconds: float,
        lease_seconds: float,
        holder: str | None = None,
    ):
        self.store = store
        self.lookahead = timedelta(seconds=lookahead_seconds)
        self.lease_seconds = lease_seconds
        #: This node's id, written on each lease: other nodes take over when it dies.
        self.holder = holder

    async def claim(
        self, *, now: datetime, limit: int, skip_services: frozenset[str] = frozenset()
    ) -> list[ClaimedDelivery]:
        return await self.store.claim_ready(
            now=now,
            horizon=now + self.lookahead,
            limit=limit,
            lease_seconds=self.lease_seconds + self.lookahead.total_seconds(),
            skip_services=skip_services,
            holder=self.holder,
        )

    async def next_ready_at(
        self, *, skip_services: frozenset[str] = frozenset()
    ) -> datetime | None:
        due = await self.store.earliest_ready(skip_services=skip_services)
        return None if due is None else due - self.lookahead

    def settled(self, ids: list[str]) -> None:
        """Nothing to do: the recorded row is all the table needs."""

    def given_back(self, ids: list[str]) -> None:
        """Nothing to do: a released row is ready in the table at once."""
