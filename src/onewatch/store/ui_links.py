"""One-time dashboard sign-in links: using a link records its id, once.

Atomicity owed: ``consume_link`` inserts the link's id under a primary key, so of two
concurrent uses (on one node or on two) exactly one commits and gets True.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.store.constraints import is_unique_violation
from onewatch.store.schema import ui_link_uses
from onewatch.store.transactions import write_transaction


async def consume_link(
    engine: AsyncEngine, jti: str, *, expires_at: datetime, now: datetime
) -> bool:
    """Record the use of link ``jti``; False when it was used before.

    Rows of links that have expired are pruned in the same transaction: an expired link
    is refused by its token's ``exp`` already, so its row is no longer needed.
    """
    try:
        async with write_transaction(engine) as connection:
            await connection.execute(delete(ui_link_uses).where(ui_link_uses.c.expires_at < now))
            await connection.execute(
                insert(ui_link_uses).values(jti=jti, used_at=now, expires_at=expires_at)
            )
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True
