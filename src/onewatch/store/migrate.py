"""Running the Alembic migrations from code (``onewatch migrate`` and ``serve``).

Alembic is imported only when there is migrating to do: with the DDL support of every
dialect it pulls in, it stays in a node's memory for good (about 10 MB of RSS), while a
node whose schema is current needs no more than one read of ``alembic_version``
(compared with ``HEAD_REVISION``) to start and to answer ``/readyz``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The newest revision in ``migrations/versions`` (a test holds it to Alembic's own head).
HEAD_REVISION = "0010"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")
    if connection.dialect.name == "sqlite":
        _check_foreign_keys(connection)


def _check_foreign_keys(connection: Connection) -> None:
    """With foreign keys off while migrating, a rebuilt table could have broken one: then
    roll it all back rather than commit a store whose references dangle."""
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        raise RuntimeError(f"the migration left broken foreign keys: {broken[:5]}")


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
    async with (
        engine.connect() as connection,
        _sqlite_foreign_keys_off(connection),
        connection.begin(),
    ):
        await connection.run_sync(take_turn)
        await connection.run_sync(_upgrade)


@asynccontextmanager
async def _sqlite_foreign_keys_off(connection: AsyncConnection) -> AsyncIterator[None]:
    """SQLite: foreign keys off around the migration's transaction (no-op elsewhere).

    A migration that changes a check constraint rebuilds its table (create, copy, drop,
    rename); with foreign keys on, dropping ``events`` would cascade into every delivery
    and attempt. SQLite ignores the pragma inside a transaction, so it is set before the
    transaction begins, through the driver (SQLAlchemy would begin one first).
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        await driver.execute("PRAGMA foreign_keys=ON")


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest revision (what ``/readyz`` checks)."""
    stored = await _stored_revisions(engine)
    if stored is not None:
        return stored == {HEAD_REVISION}
    # Unreadable: let Alembic look (it raises when the store itself is unreachable).
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    return current == head_revisions()
