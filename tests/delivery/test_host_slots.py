"""Each service's calls per target host are counted apart, before the pool."""

from __future__ import annotations

import asyncio

import pytest

from onewatch.delivery.host_slots import HostSlots, NoFreeHostSlot, slot_key
from onewatch.security.quotas import DeliveryConcurrencyLimiter, NoFreeSlot
from tests.support.waiting import wait_for


def test_slot_key_is_the_origin_per_service() -> None:
    assert slot_key("a", "http://Example.org/x?y=1") == ("a", "http", "example.org", 80)
    assert slot_key("a", "https://example.org:8443/") == ("a", "https", "example.org", 8443)
    assert slot_key("a", "http://example.org/") != slot_key("b", "http://example.org/")


async def test_a_full_share_blocks_only_its_own_service() -> None:
    slots = HostSlots(1)
    a_host = slot_key("a", "http://127.0.0.1:9/x")
    async with slots.slot(a_host, wait=0.01):
        with pytest.raises(NoFreeHostSlot, match="ONEWATCH_DISPATCHER_PER_HOST_LIMIT"):
            async with slots.slot(a_host, wait=0.01):
                pass
        async with slots.slot(slot_key("b", "http://127.0.0.1:9/x"), wait=0.01):
            pass  # another service, the same host: its own share
        async with slots.slot(slot_key("a", "http://127.0.0.2:9/x"), wait=0.01):
            pass  # the same service, another host
    assert slots._shares == {}  # nothing kept for pairs with no call in flight


async def test_unlimited_slots_never_wait() -> None:
    slots = HostSlots(0)
    key = slot_key("a", "http://127.0.0.1:9/")
    async with slots.slot(key, wait=0), slots.slot(key, wait=0):
        pass


async def test_limiter_names_services_with_a_full_round_waiting() -> None:
    limiter = DeliveryConcurrencyLimiter(2)
    release = asyncio.Event()

    async def send(service: str) -> None:
        async with limiter.slot(service):
            await release.wait()

    tasks = [asyncio.create_task(send("a")) for _ in range(4)]
    tasks.append(asyncio.create_task(send("b")))
    # Two of a's in flight and two waiting make a full round; b has room.
    await wait_for(lambda: limiter.saturated() == {"a"}, what="a to be saturated")
    assert limiter.in_flight("a") == 2 and limiter.in_flight("b") == 1
    release.set()
    await asyncio.gather(*tasks)
    assert limiter.saturated() == frozenset()
    assert DeliveryConcurrencyLimiter(0).saturated() == frozenset()


async def test_a_key_is_forgotten_once_nothing_holds_or_waits_for_it() -> None:
    limiter = DeliveryConcurrencyLimiter(1)
    async with limiter.slot("a"):
        with pytest.raises(NoFreeSlot):
            async with limiter.slot("a", wait=0.01):
                pass
        assert limiter.in_flight("a") == 1
    # A node that served many services over a day keeps no state for the idle ones.
    assert limiter.keys_in_use() == 0
