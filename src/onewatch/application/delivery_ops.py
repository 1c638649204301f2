"""Redriving a dead delivery, audited in the same transaction.

A redrive changes no action, event or secret, but it sends a call again on someone's
say, so it is audited on its event (``redrive``, the delivery's id in before/after).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.application.audit import Actor, entry
from onewatch.domain.statuses import DeliveryStatus
from onewatch.store.audit import record_audit
from onewatch.store.deliveries import DeliveryView, redrive_on
from onewatch.store.transactions import write_transaction


async def redrive_delivery(
    engine: AsyncEngine, view: DeliveryView, now: datetime, actor: Actor
) -> bool:
    """A fresh retry budget for a dead delivery; False (and no entry) unless it was dead."""
    async with write_transaction(engine) as connection:
        if not await redrive_on(connection, view.id, now=now):
            return False
        before = {"deliveryId": view.id, "status": DeliveryStatus.DEAD.value}
        after = {"deliveryId": view.id, "status": DeliveryStatus.RETRYING.value}
        target = (view.service, "event", view.event_key)
        await record_audit(connection, entry(actor, now, target, "redrive", before, after))
    return True
