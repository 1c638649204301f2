"""Running the Alembic migrations from code (``onewatch migrate`` and ``serve``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: PostgreSQL advisory lock key held while migrating ("onewatch" in ASCII, as a number).
MIGRATION_LOCK_KEY = 0x6F6E657761746368


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several nodes starting at once (migrate_on_start) take turns; the later ones
        # then find the schema current. (SQLite is one node: nothing to coordinate.)
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


def _current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest revision (what ``/readyz`` checks)."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    return current == head_revisions()
