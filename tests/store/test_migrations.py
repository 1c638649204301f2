"""The migrations create exactly the schema that ``schema.py`` declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from onewatch.store.database import create_engine
from onewatch.store.migrate import is_current, upgrade_to_head
from onewatch.store.schema import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_sqlite_schema_matches_metadata(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'onewatch.db'}")
    try:
        assert not await is_current(engine)
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # a second run is a no-op
        assert await is_current(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
