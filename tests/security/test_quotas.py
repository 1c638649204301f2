"""Per-service quotas: events, request rate (429 + Retry-After), concurrent deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onewatch.security.quotas import (
    DeliveryConcurrencyLimiter,
    QuotaExceeded,
    RequestRateLimiter,
    check_event_quota,
)
from onewatch.settings import Settings
from onewatch.store.database import create_engine
from onewatch.store.migrate import upgrade_to_head
from onewatch.store.schema import events
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
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'onewatch.db'}")
    await upgrade_to_head(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


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


async def test_event_quota_counts_live_events_of_the_service(engine: AsyncEngine) -> None:
    await _add_event(engine, "a", "one", "active")
    await _add_event(engine, "a", "two", "paused")
    await _add_event(engine, "a", "done", "completed")
    await _add_event(engine, "b", "one", "active")
    async with engine.connect() as connection:
        await check_event_quota(connection, "a", 3)
        await check_event_quota(connection, "a", 0)  # unlimited
        with pytest.raises(QuotaExceeded) as caught:
            await check_event_quota(connection, "a", 2)
        assert caught.value.field == "service"
        assert "2 active or paused events" in caught.value.reason
        with pytest.raises(QuotaExceeded):
            await check_event_quota(connection, "a", 3, adding=2)
        await check_event_quota(connection, "b", 2)


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
