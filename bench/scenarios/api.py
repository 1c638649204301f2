"""API: event creates per second with 32 concurrent clients; filtered lists over the store.

APScheduler has no HTTP API, so this scenario measures Onewatch alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench import onewatch_runner
from bench.context import Context, write_result
from bench.procs import ProcessSampler
from bench.scenarios.common import guarded
from bench.stats import percentile
from bench.workload import iso_instant

LIST_QUERY = "/v1/events?service=bench&status=active&limit=100"
#: Created events are due long after the run, so none fires during it.
CREATED_DUE_IN = timedelta(days=10)
#: No request may hold a scenario up for long, even against a server that hangs.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30)


class Calls:
    """Latencies (ms) and status codes of one kind of request."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.statuses: dict[str, int] = {}
        self.first_error: str | None = None

    async def record(self, response: aiohttp.ClientResponse, started: float) -> None:
        body = await response.read()
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        key = str(response.status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if response.status >= 300 and self.first_error is None:
            self.first_error = body[:500].decode(errors="replace")

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        ok = sum(n for status, n in self.statuses.items() if status.startswith("2"))
        return {
            "requests": len(ordered),
            "ok": ok,
            "statuses": self.statuses,
            "per_second": ok / seconds if seconds > 0 else None,
            "latency_ms": {
                "p50": percentile(ordered, 0.5),
                "p99": percentile(ordered, 0.99),
                "max": ordered[-1] if ordered else None,
            },
            "first_error": self.first_error,
        }


def _event_body(key: str, endpoint: str) -> dict[str, Any]:
    due = iso_instant(datetime.now(UTC) + CREATED_DUE_IN)
    return {
        "key": key,
        "webhook": {"endpoint": endpoint, "method": "POST"},
        "schedulingPattern": {"pattern": due, "timezone": "UTC"},
    }


async def _creator(
    session: aiohttp.ClientSession,
    base: str,
    client: int,
    deadline: float,
    calls: Calls,
    endpoint: str,
) -> None:
    index = 0
    while time.monotonic() < deadline:
        body = _event_body(f"api-{client:02d}-{index:07d}", endpoint)
        started = time.perf_counter()
        async with session.post(base + "/v1/events", json=body) as response:
            await calls.record(response, started)
        index += 1


async def _creates(base: str, token: str, ctx: Context) -> dict[str, Any]:
    calls = Calls()
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=ctx.sizes.api_clients)
    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=REQUEST_TIMEOUT
    ) as session:
        started = time.monotonic()
        deadline = started + ctx.sizes.api_seconds
        endpoint = ctx.sink.url("/api-created")
        await asyncio.gather(
            *(
                _creator(session, base, client, deadline, calls, endpoint)
                for client in range(ctx.sizes.api_clients)
            )
        )
        elapsed = time.monotonic() - started
    return {"clients": ctx.sizes.api_clients, **calls.summary(elapsed)}


async def _lists(base: str, token: str, requests: int) -> dict[str, Any]:
    calls = Calls()
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers, timeout=REQUEST_TIMEOUT) as session:
        started = time.monotonic()
        for _ in range(requests):
            began = time.perf_counter()
            async with session.get(base + LIST_QUERY) as response:
                await calls.record(response, began)
        elapsed = time.monotonic() - started
    return {"query": LIST_QUERY, **calls.summary(elapsed)}


def _run(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The load generator on uvloop: on plain asyncio it, not the server, is the limit."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _ceiling(ctx: Context) -> dict[str, Any]:
    """The same clients against the sink, which answers at once: the harness's own limit."""
    return {
        "system": "load generator vs sink",
        "stored": 0,
        "creates": _run(_creates(ctx.sink.base, "unused", ctx)),
        "list": _run(_lists(ctx.sink.base, "unused", ctx.sizes.api_list_requests)),
    }


def run_onewatch(ctx: Context) -> dict[str, Any]:
    """One create-and-list run against a node over the steady store (`bench.compare_api` too)."""
    stored = ctx.sizes.steady_stored
    node, token = onewatch_runner.start_node(ctx, stored, "api-ow")
    sampler = ProcessSampler(node.pid)
    try:
        creates = _run(_creates(node.base, token, ctx))
        lists = _run(_lists(node.base, token, ctx.sizes.api_list_requests))
    finally:
        usage = sampler.stop()
        node.stop()
    return {
        "system": onewatch_runner.SYSTEM,
        "stored": stored,
        "creates": creates,
        "list": lists,
        **usage,
    }


def run(ctx: Context) -> Path:
    runs = []
    if ctx.wants(onewatch_runner.SYSTEM):
        runs.append(guarded(onewatch_runner.SYSTEM, "api", lambda: run_onewatch(ctx)))
        runs.append(guarded("load generator", "ceiling", lambda: _ceiling(ctx)))
    return write_result(ctx, "api", {"runs": runs})
