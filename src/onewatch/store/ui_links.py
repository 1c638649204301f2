"""One-time dashboard sign-in links: using a link records its id, once.

Atomicity owed: ``consume_link`` inserts the link's id under a primary key, so of two
concurrent uses (on one node or on two) exactly one commits and gets True.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from onewatch.store.schema import ui_link_uses


async def record_link_use(
    connection: AsyncConnection, jti: str, *, expires_at: datetime, now: datetime
) -> None:
    """Record the use of link ``jti``; an ``IntegrityError`` (unique violation) when it was
    used before (``Store.consume_link`` answers that as False).

    Rows of links that have expired are pruned in the same transaction: an expired link
    is refused by its token's ``exp`` already, so its row is no longer needed.
    """
    await connection.execute(delete(ui_link_uses).where(ui_link_uses.c.expires_at < now))
    await connection.execute(
        insert(ui_link_uses).values(jti=jti, used_at=now, expires_at=expires_at)
    )
