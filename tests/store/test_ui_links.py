"""One-time sign-in links: the store lets each link id be used once, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from onewatch.store.base import SqlStore
from onewatch.store.schema import ui_link_uses

NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def _jtis(store: SqlStore) -> list[str]:
    async with store.engine.connect() as connection:
        return list((await connection.execute(select(ui_link_uses.c.jti))).scalars())


async def test_a_link_is_used_once(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=15)
    assert await store.consume_link("link-0001", expires_at=later, now=NOW)
    assert not await store.consume_link("link-0001", expires_at=later, now=NOW)
    assert await store.consume_link("link-0002", expires_at=later, now=NOW)


async def test_of_two_concurrent_uses_one_wins(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=15)
    results = await asyncio.gather(
        *(store.consume_link("link-race", expires_at=later, now=NOW) for _ in range(4))
    )
    assert sorted(results) == [False, False, False, True]


async def test_expired_links_are_pruned(store: SqlStore) -> None:
    await store.consume_link("old-link", expires_at=NOW + timedelta(minutes=1), now=NOW)
    after = NOW + timedelta(minutes=2)
    await store.consume_link("new-link", expires_at=after + timedelta(minutes=15), now=after)
    assert await _jtis(store) == ["new-link"]
