"""Reading one keyed item (an action, an event) for a caller, as the API and dashboard do.

An item of another service answers exactly like a missing one (404), so that a token cannot
learn which keys other services use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import RowMapping

from onewatch.application.access import require_service_access
from onewatch.errors import NotFound
from onewatch.ports import Store, StoreTransaction
from onewatch.security.tokens import Principal

#: A store read by (service, key): ``StoreTransaction.get_action`` or ``.get_event``.
RowGetter = Callable[[StoreTransaction, str, str], Awaitable[RowMapping | None]]


def event_row(tx: StoreTransaction, service: str, key: str) -> Awaitable[RowMapping | None]:
    return tx.get_event(service, key)


def action_row(tx: StoreTransaction, service: str, key: str) -> Awaitable[RowMapping | None]:
    return tx.get_action(service, key)


async def visible_row(
    store: Store,
    principal: Principal,
    service: str,
    key: str,
    *,
    noun: str,
    get: RowGetter,
) -> RowMapping:
    """The row, when ``principal`` may see ``service``; otherwise, or when absent, 404."""
    require_service_access(principal, service)
    async with store.read() as tx:
        row = await get(tx, service, key)
    if row is None:
        raise NotFound(f"no {noun} {service}/{key}")
    return row
