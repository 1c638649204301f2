"""A SQLite node whose schema is current never loads what only other set-ups need.

Alembic (with every dialect's DDL support), the Redis client and asyncpg stay in a
process for good once imported: together about 17 MB of a node's RSS. A fresh
interpreter shows what starting a node really imports (this test process has them all).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from onewatch.store import open_store

SRC = Path(__file__).resolve().parents[1] / "src"
NOT_FOR_SQLITE = ("alembic", "redis", "asyncpg")

START_NODE = """
import asyncio, json, sys
from onewatch.api.app import create_app
from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from onewatch.settings import load_settings

async def main():
    runtime = Runtime.from_settings(load_settings())
    create_app(runtime)
    await runtime.start(background_roles())
    assert await runtime.store.is_current()
    await runtime.stop()

asyncio.run(main())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


async def _migrate(url: str) -> None:
    store = open_store(url)
    try:
        await store.migrate()
    finally:
        await store.dispose()


def test_a_current_sqlite_node_imports_no_migration_tool_nor_other_backends(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'onewatch.db'}"
    asyncio.run(_migrate(url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWATCH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["ONEWATCH_DATABASE_URL"] = url
    env["ONEWATCH_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", START_NODE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(done.stdout.splitlines()[-1]))
    assert imported.isdisjoint(NOT_FOR_SQLITE)
