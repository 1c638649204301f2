"""Filling an Onewatch SQLite store directly, before its server starts.

Creating a million events through the API would take longer than the scenarios
themselves, so stored events are bulk-inserted with SQLAlchemy Core into the tables of
``onewatch.store.schema``, exactly as the API would have written them.
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

from sqlalchemy import create_engine, func, insert, select, text

from bench.workload import StoredEvent, iso_instant
from onewatch.store.database import create_engine as create_async_store_engine
from onewatch.store.migrate import upgrade_to_head
from onewatch.store.schema import events

DATABASE_NAME = "onewatch.db"
SERVICE = "bench"
CHUNK = 5_000


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_NAME


def migrate(data_dir: Path) -> None:
    """What ``onewatch migrate --data-dir`` does: the schema at its newest revision."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_async_store_engine(f"sqlite:///{database_path(data_dir)}")

    async def run() -> None:
        await upgrade_to_head(engine)
        await engine.dispose()

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


def insert_events(data_dir: Path, stored: Iterable[StoredEvent], endpoint: str) -> float:
    """Insert events in chunks, one transaction each; returns the seconds it took."""
    engine = create_engine(f"sqlite:///{database_path(data_dir)}")
    now = datetime.now(UTC)
    started = time.monotonic()
    iterator = iter(stored)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        while chunk := list(islice(iterator, CHUNK)):
            connection.execute(insert(events), [event_row(e, endpoint, now) for e in chunk])
            connection.commit()
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return time.monotonic() - started


def count_events(data_dir: Path) -> int:
    engine = create_engine(f"sqlite:///{database_path(data_dir)}")
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(events)).scalar_one()
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return int(total)


def copy_store(template: Path, data_dir: Path) -> None:
    """A fresh data folder holding a copy of a prepared store (and its JWT secret)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(template, data_dir)
