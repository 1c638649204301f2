"""Reading one keyed item (an action, an event) for a caller, as the API and dashboard do.

An item of another service answers exactly like a missing one (404), so that a token cannot
learn which keys other services use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onewatch.application.access import require_service_access
from onewatch.errors import NotFound
from onewatch.security.tokens import Principal
from onewatch.store.transactions import read_connection

#: A store read by (service, key): ``store.actions.get_action``, ``store.events.get_event``.
RowGetter = Callable[[AsyncConnection, str, str], Awaitable[RowMapping | None]]


async def visible_row(
    engine: AsyncEngine,
    principal: Principal,
    service: str,
    key: str,
    *,
    noun: str,
    get: RowGetter,
) -> RowMapping:
    """The row, when ``principal`` may see ``service``; otherwise, or when absent, 404."""
    require_service_access(principal, service)
    async with read_connection(engine) as connection:
        row = await get(connection, service, key)
    if row is None:
        raise NotFound(f"no {noun} {service}/{key}")
    return row
