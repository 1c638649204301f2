"""Batch: 10,000 events registered through ``POST /v1/events/batch`` on SQLite, beside the
same 10,000 through ``POST /v1/events`` one by one, at the same client concurrency.

Each (path, concurrency) run gets a fresh node on a copy of the same store, so no run
inherits another's rows. The figure is events stored per second, from the first request
sent to the last answer read, counted from the answers (201 per item).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import onewatch_runner
from bench.context import Context, write_result
from bench.procs import ProcessSampler
from bench.scenarios.api import _event_body, _run
from bench.scenarios.common import guarded
from bench.stats import percentile

#: Events per run (the quick smoke test: a tenth).
EVENTS = 10_000
#: Items per batch request (the API's maximum).
BATCH_SIZE = 1000
#: Concurrent clients; every run of a concurrency is made with both paths.
CONCURRENCIES = (1, 4)
#: Events stored before each run.
STORED = 10_000
#: A batch request may take seconds; a hanging server must still not hold the run up.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=120)


class Tally:
    """Request latencies (ms), stored events and item statuses of one run."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.statuses: dict[str, int] = {}
        self.first_error: str | None = None

    def count(self, status: int, body: bytes) -> None:
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if status >= 300 and self.first_error is None:
            self.first_error = body[:500].decode(errors="replace")

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        stored = self.statuses.get("201", 0)
        return {
            "requests": len(ordered),
            "stored": stored,
            "statuses": self.statuses,
            "seconds": seconds,
            "events_per_second": stored / seconds if seconds > 0 else None,
            "request_ms": {
                "p50": percentile(ordered, 0.5),
                "p99": percentile(ordered, 0.99),
                "max": ordered[-1] if ordered else None,
            },
            "first_error": self.first_error,
        }


async def _send(
    session: aiohttp.ClientSession, url: str, body: Any, batch: bool, tally: Tally
) -> None:
    started = time.perf_counter()
    async with session.post(url, json=body) as response:
        raw = await response.read()
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not batch or response.status != 200:
            tally.count(response.status, raw)
            return
        for item in (await response.json())["items"]:
            tally.count(int(item["status"]), raw if item["status"] >= 300 else b"")


def _requests(path: str, endpoint: str, label: str, events: int) -> list[Any]:
    documents = [_event_body(f"{label}-{n:06d}", endpoint) for n in range(events)]
    if path == "single":
        return documents
    return [
        {"items": documents[start : start + BATCH_SIZE]}
        for start in range(0, len(documents), BATCH_SIZE)
    ]


async def _register(
    base: str, token: str, path: str, clients: int, endpoint: str, events: int
) -> Any:
    url = base + ("/v1/events/batch" if path == "batch" else "/v1/events")
    pending = _requests(path, endpoint, f"{path}-{clients}", events)
    pending.reverse()
    tally = Tally()
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=REQUEST_TIMEOUT
    ) as session:

        async def client() -> None:
            while pending:
                await _send(session, url, pending.pop(), path == "batch", tally)

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - started
    return tally.summary(elapsed)


def _measure(ctx: Context, path: str, clients: int) -> dict[str, Any]:
    node, token = onewatch_runner.start_node(ctx, STORED, f"batch-{path}-{clients}")
    sampler = ProcessSampler(node.pid)
    try:
        endpoint = ctx.sink.url("/batch-created")
        events = EVENTS // 10 if ctx.quick else EVENTS
        result = _run(_register(node.base, token, path, clients, endpoint, events))
    finally:
        usage = sampler.stop()
        node.stop()
    return {
        "system": onewatch_runner.SYSTEM,
        "path": path,
        "clients": clients,
        "batch_size": BATCH_SIZE if path == "batch" else 1,
        "stored_before": STORED,
        **result,
        **usage,
    }


def run(ctx: Context) -> Path:
    runs = []
    if ctx.wants(onewatch_runner.SYSTEM):
        for clients in CONCURRENCIES:
            for path in ("batch", "single"):
                measure = lambda p=path, c=clients: _measure(ctx, p, c)  # noqa: E731
                runs.append(guarded(onewatch_runner.SYSTEM, f"{path} x{clients}", measure))
    return write_result(ctx, "batch", {"runs": runs})
