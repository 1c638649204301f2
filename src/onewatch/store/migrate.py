"""Running the Alembic migrations from code (``onewatch migrate`` and ``serve``).

Alembic is imported only when there is migrating to do: with the DDL support of every
dialect it pulls in, it stays in a node's memory for good (about 10 MB of RSS), while a
node whose schema is current needs no more than one read of ``alembic_version``
(compared with ``HEAD_REVISION``) to start and to answer ``/readyz``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The newest revision in ``migrations/versions`` (a test holds it to Alembic's own head).
HEAD_REVISION = "0009"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _no_lock(_connection: Connection) -> None:
    """A store with one node (SQLite) has no one to take turns with."""


def _current_revisions(connection: Connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _stored_revisions(engine: AsyncEngine) -> set[str] | None:
    """What ``alembic_version`` holds, or None when it cannot be read (no table yet)."""
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return set(result.scalars().all())
    except DBAPIError:
        return None


async def upgrade_to_head(
    engine: AsyncEngine, take_turn: Callable[[Connection], None] = _no_lock
) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already.

    ``take_turn`` runs first in the migrating transaction: the store's way of making
    nodes that start at once migrate one after the other (``PostgresStore`` takes an
    advisory lock), so the later ones then find the schema current.
    """
    if await _stored_revisions(engine) == {HEAD_REVISION}:
        return
    async with engine.begin() as connection:
        await connection.run_sync(take_turn)
        await connection.run_sync(_upgrade)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest revision (what ``/readyz`` checks)."""
    stored = await _stored_revisions(engine)
    if stored is not None:
        return stored == {HEAD_REVISION}
    # Unreadable: let Alembic look (it raises when the store itself is unreachable).
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    return current == head_revisions()
