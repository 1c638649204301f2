"""Per-service quotas: events, request rate (429 + Retry-After), concurrent deliveries."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.engine.roles import background_roles
from onewatch.security.quotas import (
    DeliveryConcurrencyLimiter,
    NoFreeSlot,
    QuotaExceeded,
    RequestRateLimiter,
    check_event_quota,
)
from onewatch.settings import Settings
from onewatch.store.base import SqlStore
from onewatch.store.schema import events
from tests.engine.support import Sink, add_event, make_runtime, settings_for, utcnow, wait_for
from tests.security.conftest import bearer, build_app, served

SECRET = "q7Vt2m9XcL0pRz4sN8bJ1wYhK6dF3gAe-events"


class SteppedTime:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_token_bucket_per_service() -> None:
    time = SteppedTime()
    limiter = RequestRateLimiter(rate=2.0, burst=3, monotonic=time)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)
    assert limiter.acquire("b") == 0.0  # another service has its own bucket
    time.value += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    time.value += 60
    assert [limiter.acquire("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # capped at burst
    assert RequestRateLimiter.retry_after_header(0.2) == "1"
    assert RequestRateLimiter.retry_after_header(2.01) == "3"
    unlimited = RequestRateLimiter(rate=0, burst=1, monotonic=time)
    assert all(unlimited.acquire("a") == 0.0 for _ in range(100))


def test_a_cost_above_the_burst_passes_a_full_bucket_and_leaves_debt() -> None:
    time = SteppedTime()
    limiter = RequestRateLimiter(rate=10.0, burst=5, monotonic=time)
    assert limiter.acquire("a", 3) == 0.0
    assert limiter.acquire("a", 50) == pytest.approx(0.3)  # waits for a full bucket
    time.value += 0.31
    assert limiter.acquire("a", 50) == 0.0  # passes, 45 tokens in debt
    assert limiter.acquire("a") == pytest.approx(4.6)
    time.value += 4.61
    assert limiter.acquire("a") == 0.0


async def test_api_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        quota_requests_per_second=0.01,
        quota_request_burst=2,
    )

    def token(service: str) -> dict[str, str]:
        claims = {"sub": service, "exp": datetime.now(UTC).timestamp() + 300}
        return bearer(jwt.encode(claims, SECRET, algorithm="HS256"))

    async with served(build_app(settings)) as client:
        path = "/v1/services/noisy/signing-secrets"
        statuses = [(await client.get(path, headers=token("noisy"))).status_code for _ in range(2)]
        assert statuses == [200, 200]
        limited = await client.get(path, headers=token("noisy"))
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "noisy" in limited.text
        quiet = await client.get("/v1/services/quiet/signing-secrets", headers=token("quiet"))
        assert quiet.status_code == 200


@pytest.fixture
def engine(store: SqlStore) -> AsyncEngine:
    """The backend store's engine (``tests/backends``), to seed rows straight."""
    return store.engine


async def _add_event(engine: AsyncEngine, service: str, key: str, status: str) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            events.insert().values(
                service=service,
                key=key,
                target_type="webhook",
                target={"endpoint": "http://127.0.0.1/"},
                pattern="@daily",
                timezone="UTC",
                status=status,
                created_at=now,
                updated_at=now,
            )
        )


async def test_event_quota_counts_live_events_of_the_service(
    store: SqlStore, engine: AsyncEngine
) -> None:
    await _add_event(engine, "a", "one", "active")
    await _add_event(engine, "a", "two", "paused")
    await _add_event(engine, "a", "done", "completed")
    await _add_event(engine, "b", "one", "active")
    async with store.read() as tx:
        await check_event_quota(tx, "a", 3)
        await check_event_quota(tx, "a", 0)  # unlimited
        with pytest.raises(QuotaExceeded) as caught:
            await check_event_quota(tx, "a", 2)
        assert caught.value.field == "service"
        assert "2 active or paused events" in caught.value.reason
        with pytest.raises(QuotaExceeded):
            await check_event_quota(tx, "a", 3, adding=2)
        await check_event_quota(tx, "b", 2)


async def test_concurrent_deliveries_are_capped_per_service() -> None:
    limiter = DeliveryConcurrencyLimiter(2)
    release, saturated = asyncio.Event(), asyncio.Event()
    peak: dict[str, int] = {}

    async def send(service: str) -> None:
        async with limiter.slot(service):
            peak[service] = max(peak.get(service, 0), limiter.in_flight(service))
            if limiter.in_flight(service) == 2:
                saturated.set()
            await release.wait()

    noisy = [asyncio.create_task(send("noisy")) for _ in range(5)]
    async with asyncio.timeout(10):
        await saturated.wait()
    assert not limiter.has_free_slot("noisy")
    # The noisy service is saturated; another service still gets its slot at once.
    async with asyncio.timeout(10), limiter.slot("quiet"):
        assert limiter.in_flight("quiet") == 1
    assert limiter.has_free_slot("quiet")
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(*noisy)
    assert peak["noisy"] == 2
    assert limiter.in_flight("noisy") == 0


async def test_a_slot_wait_can_be_bounded() -> None:
    limiter = DeliveryConcurrencyLimiter(1)
    async with limiter.slot("noisy"):
        with pytest.raises(NoFreeSlot, match="1 deliveries in flight"):
            async with limiter.slot("noisy", wait=0.05):
                pytest.fail("a second slot was granted")
        async with limiter.slot("quiet", wait=0.05):
            assert limiter.in_flight("quiet") == 1
    async with limiter.slot("noisy", wait=0.05):
        assert limiter.in_flight("noisy") == 1


class HoldingTarget:
    """A real target on 127.0.0.1 that holds the ``noisy`` service's calls until released,
    and counts calls in flight per service (the path names the service)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.ids: Counter[str] = Counter()
        self.sink = Sink()

    async def _hold(self, request: web.Request) -> web.Response:
        service = request.match_info["service"]
        self.ids[request.headers["webhook-id"]] += 1
        self.in_flight[service] += 1
        self.peak[service] = max(self.peak[service], self.in_flight[service])
        try:
            if service == "noisy":
                await self.release.wait()
            return web.Response(text="ok")
        finally:
            self.in_flight[service] -= 1

    async def start(self) -> HoldingTarget:
        await self.sink.start(lambda app: app.router.add_post("/hold/{service}", self._hold))
        return self

    def endpoint(self, service: str) -> str:
        return f"{self.sink.base}/hold/{service}"


async def _one_shots(engine: AsyncEngine, target: HoldingTarget, service: str, count: int) -> None:
    due = utcnow() + timedelta(milliseconds=200)
    for number in range(count):
        await add_event(
            engine,
            key=f"{service}-{number}",
            service=service,
            pattern=due.isoformat(),
            target_type="webhook",
            target={"endpoint": target.endpoint(service)},
        )


async def test_dispatcher_caps_concurrent_deliveries_per_service(tmp_path: Path) -> None:
    """A slow, noisy service holds at most its quota of requests in flight, and another
    service's delivery goes out meanwhile; a delivery that waited too long for a slot is
    given back and sent later, once."""
    target = await HoldingTarget().start()
    settings = settings_for(
        tmp_path, quota_max_concurrent_deliveries=2, dispatcher_lease_seconds=2.0
    )
    runtime = await make_runtime(settings)
    try:
        with structlog.testing.capture_logs() as logs:
            await runtime.start(background_roles())
            await _one_shots(runtime.store.engine, target, "noisy", 5)
            await _one_shots(runtime.store.engine, target, "quiet", 1)
            runtime.wakeup.notify()
            await wait_for(
                lambda: target.ids.total() == 3 and target.in_flight["noisy"] == 2,
                what="two noisy calls held and the quiet one answered",
            )
            # The waiting ones give up their slot wait (half the lease) and are released.
            await wait_for(
                lambda: any("concurrent delivery quota" in entry["event"] for entry in logs),
                what="a waiting delivery to be given back",
            )
            target.release.set()
            await wait_for(lambda: target.ids.total() == 6, what="every delivery sent")
    finally:
        await runtime.stop()
        await target.sink.stop()
    assert target.peak["noisy"] == 2
    assert set(target.ids.values()) == {1}, "each delivery was sent exactly once"
