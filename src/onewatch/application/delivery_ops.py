"""Redriving a dead delivery, audited in the same transaction.

A redrive changes no action, event or secret, but it sends a call again on someone's
say, so it is audited on its event (``redrive``, the delivery's id in before/after).
"""

from __future__ import annotations

from datetime import datetime

from onewatch.application.audit import Actor, entry
from onewatch.domain.statuses import DeliveryStatus
from onewatch.ports import Store
from onewatch.store.records import DeliveryView


async def redrive_delivery(store: Store, view: DeliveryView, now: datetime, actor: Actor) -> bool:
    """A fresh retry budget for a dead delivery; False (and no entry) unless it was dead."""
    async with store.write() as tx:
        if not await tx.redrive(view.id, now=now):
            return False
        before = {"deliveryId": view.id, "status": DeliveryStatus.DEAD.value}
        after = {"deliveryId": view.id, "status": DeliveryStatus.RETRYING.value}
        target = (view.service, "event", view.event_key)
        await tx.record_audits([entry(actor, now, target, "redrive", before, after)])
    return True
