"""``events.batch`` (both clients) and waiting out 429s, against real ``onewatch serve``
processes: one with the default quotas (the module's), one with a low rate quota."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from onewatch.client import AsyncClient, Client, InvalidRequest, PermissionDenied, RateLimited
from onewatch.client.calls import BATCH_BYTES, Calls
from onewatch.client.errors import retry_after_seconds
from tests.client.documents import event, inline_event, webhook_action
from tests.support.server_process import ServerProcess, Target, running_server


def test_batch_answers_each_document_in_order(server: ServerProcess, target: Target) -> None:
    with Client(server.base_url, server.token("b-sync")) as onewatch:
        onewatch.actions.upsert(webhook_action("hook", target.url()))
        kept = onewatch.events.upsert(event("kept", "hook"))
        documents = [
            event("new", "hook"),
            event("kept", "hook"),
            event("bad", "hook", schedulingPattern={"pattern": "61 * * * *"}),
            event("foreign", "hook", service="elsewhere"),
        ]
        results = onewatch.events.batch(documents)
        assert [result.status for result in results] == [201, 200, 422, 403]
        assert results[0].event == onewatch.events.get("new")
        assert results[1].event == kept  # unchanged: exactly what was stored before
        assert isinstance(results[2].error, InvalidRequest)
        assert results[2].error.field == "schedulingPattern.pattern"
        assert isinstance(results[3].error, PermissionDenied)
        assert [result.ok for result in results] == [True, True, False, False]


async def test_the_async_client_batches_past_one_request(
    server: ServerProcess, target: Target
) -> None:
    documents = [inline_event(f"e{number:04d}", target.url()) for number in range(1500)]
    async with AsyncClient(server.base_url, server.token("b-async")) as onewatch:
        results = await onewatch.events.batch(documents)
        assert [result.status for result in results] == [201] * 1500
        assert [result.event.key for result in results if result.event] == [
            document["key"] for document in documents
        ]
        stored = [item.key async for item in onewatch.events.list(page_size=500)]
    assert sorted(stored) == sorted(document["key"] for document in documents)


def test_batches_are_cut_by_count_and_by_bytes() -> None:
    calls = Calls("svc")
    small = [{"key": f"k{n}"} for n in range(2500)]
    assert [len(call.body["items"]) for call in calls.event_batches(small, None)] == [
        1000,
        1000,
        500,
    ]
    assert "service" not in small[0]  # the caller's documents are not changed
    large = [{"key": f"k{number}", "title": "x" * (1024 * 1024)} for number in range(20)]
    cut = list(calls.event_batches(large, "other"))
    assert sum(len(call.body["items"]) for call in cut) == 20
    sizes = [len(httpx.Request("POST", "/", json=call.body).content) for call in cut]
    assert max(sizes) < BATCH_BYTES
    assert {item["service"] for call in cut for item in call.body["items"]} == {"other"}


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A node allowing 4 requests a second per service, in bursts of 4."""
    folder = tmp_path_factory.mktemp("limited")
    with running_server(
        folder, ONEWATCH_QUOTA_REQUESTS_PER_SECOND="4", ONEWATCH_QUOTA_REQUEST_BURST="4"
    ) as node:
        yield node


def test_the_client_waits_out_429s(limited: ServerProcess, target: Target) -> None:
    with Client(limited.base_url, limited.token("w-many")) as onewatch:
        for number in range(12):  # three bursts' worth: most of these got 429 first
            onewatch.events.upsert(inline_event(f"e{number}", target.url()))
        assert len(list(onewatch.events.list(page_size=500))) == 12


@pytest.fixture(scope="module")
def stingy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A node allowing 2 requests per service, then one every 100 s."""
    folder = tmp_path_factory.mktemp("stingy")
    with running_server(
        folder, ONEWATCH_QUOTA_REQUESTS_PER_SECOND="0.01", ONEWATCH_QUOTA_REQUEST_BURST="2"
    ) as node:
        yield node


def test_past_its_bounds_the_client_raises_the_429(stingy: ServerProcess, target: Target) -> None:
    limited, token = stingy, stingy.token("w-bounded")
    with Client(limited.base_url, token, max_retries=0) as onewatch:
        with pytest.raises(RateLimited) as no_retries:
            for number in range(3):
                onewatch.events.upsert(inline_event(f"e{number}", target.url()))
        assert no_retries.value.status_code == 429
        assert "at most 0 429s" in str(no_retries.value)
    # A wait longer than the budget is not started: raised at once.
    with Client(limited.base_url, token, max_retry_seconds=0.1) as onewatch:
        with pytest.raises(RateLimited) as no_time:
            onewatch.events.page()
        assert "at most 0 s" in str(no_time.value)
        assert no_time.value.retry_after is not None and no_time.value.retry_after >= 1
