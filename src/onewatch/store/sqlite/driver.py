"""The aiosqlite connection under SQLAlchemy's: where a SQLite store saves trips.

Through SQLAlchemy's async adapter a statement is three or four trips to aiosqlite's
thread (open a cursor, execute, fetch, close), each answer back through the event loop,
behind whatever requests it is parsing. One call on the driver connection is one trip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


async def sqlite_driver(connection: AsyncConnection) -> Any:
    """The aiosqlite connection under ``connection`` (``store.sqlite.one_trip``)."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver
