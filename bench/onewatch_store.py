"""Filling an Onewatch store directly, before its server starts.

Creating a million events through the API would take longer than the scenarios
themselves, so stored events are bulk-inserted with SQLAlchemy Core into the tables of
``onewatch.store.schema``, exactly as the API would have written them, through the same
engine factory Onewatch uses (so SQLite and PostgreSQL are filled alike).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.workload import StoredEvent, iso_instant
from onewatch.store import open_store
from onewatch.store.schema import events

DATABASE_NAME = "onewatch.db"
SERVICE = "bench"
CHUNK = 5_000


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_NAME


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded default store in ``data_dir``."""
    return f"sqlite:///{database_path(data_dir)}"


def migrate(url: str) -> None:
    """What ``onewatch migrate`` does: the schema at its newest revision."""

    async def run() -> None:
        store = open_store(url)
        try:
            await store.migrate()
        finally:
            await store.dispose()

    asyncio.run(run())


def event_row(event: StoredEvent, endpoint: str, now: datetime) -> dict[str, Any]:
    """An events row as the API stores an inline-webhook event."""
    return {
        "service": SERVICE,
        "key": event.key,
        "action_key": None,
        "target_type": "webhook",
        "target": {"endpoint": endpoint, "method": "POST", "headers": {}},
        "params": {"url": {}, "body": {}, "header": {}},
        "pattern": event.pattern,
        "timezone": event.timezone,
        "separation": 1,
        "status": "active",
        "next_occurrence": event.next_fire,
        "occurrences": 0,
        "misfire_policy": "fire_once",
        "misfire_grace_seconds": 60,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def one_shots(prefix: str, dues: Iterable[datetime]) -> Iterator[StoredEvent]:
    """One-shot events, one per due instant."""
    for index, due in enumerate(dues):
        yield StoredEvent(f"{prefix}-{index:07d}", iso_instant(due), "UTC", due)


async def _insert(url: str, stored: Iterable[StoredEvent], endpoint: str) -> None:
    engine = open_store(url).engine
    now = datetime.now(UTC)
    iterator = iter(stored)
    try:
        async with engine.connect() as connection:
            while chunk := list(islice(iterator, CHUNK)):
                rows = [event_row(event, endpoint, now) for event in chunk]
                await connection.execute(insert(events), rows)
                await connection.commit()
            if engine.dialect.name == "sqlite":
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


def insert_events(url: str, stored: Iterable[StoredEvent], endpoint: str) -> float:
    """Insert events in chunks, one transaction each; returns the seconds it took."""
    started = time.monotonic()
    asyncio.run(_insert(url, stored, endpoint))
    return time.monotonic() - started


def count_events(url: str) -> int:
    async def run() -> int:
        engine = open_store(url).engine
        try:
            async with engine.connect() as connection:
                result = await connection.execute(select(func.count()).select_from(events))
                return int(result.scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def copy_store(template: Path, data_dir: Path) -> None:
    """A fresh data folder holding a copy of a prepared store (and its JWT secret)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(template, data_dir)
