"""CPU per attempt with tracing off and on: what a node pays for its spans.

``python -m bench.tracing_cost [--attempts 4000] [--rounds 3]`` sends attempts through
``engine.attempt.attempt`` (request building, the HTTP call, the retry decision) to the
sink process, ``--concurrency`` at a time, in this process: once with no tracing (what
every node runs unless an OTEL_* exporter is configured) and once with the OTLP exporter
pointed at the sink (span building, ``traceparent``, the batch processor's protobuf
export in its thread). It prints process CPU (all threads) per attempt, rounds taken in
turn, best of each: on a shared machine CPU per operation moves by a few percent where
wall-clock rates swing by 2x.

``--api`` measures an API request instead (``GET /healthz`` through the whole app, its
front door and the SERVER span, called in process without a socket).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench import procs
from bench.sink import SinkProcess
from onewatch.api.app import create_app
from onewatch.clock import SystemClock
from onewatch.domain.retry import system_random
from onewatch.engine.attempt import AttemptTools, attempt
from onewatch.observability.metrics import Metrics
from onewatch.observability.otel import Tracing
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store import open_store
from onewatch.store.records import ClaimedDelivery

_HEALTHZ = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/healthz",
    "raw_path": b"/healthz",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8080),
}


def _item(number: int, url: str) -> ClaimedDelivery:
    now = datetime.now(UTC)
    return ClaimedDelivery(
        id=f"msg_bench{number:020d}",
        lease_token="t",
        event_id=number,
        service="bench",
        event_key=f"e{number}",
        kind="scheduled",
        scheduled_for=now,
        next_attempt_at=now,
        attempts=0,
        attempt_base=0,
        redriven_at=None,
        params={"body": {"n": number}},
        target_type="webhook",
        target={"endpoint": url, "method": "POST"},
        payload={},
        event_retry_policy=None,
        action_retry_policy=None,
    )


async def _cpu_per_attempt(
    url: str, attempts: int, concurrency: int, tracing: Tracing | None
) -> float:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        tools = AttemptTools(
            session=session,
            clock=SystemClock(),
            rng=system_random(),
            metrics=Metrics(),
            excerpt_bytes=256,
            connect_timeout=5.0,
            tracing=tracing,
        )
        items = [_item(n, url) for n in range(attempts)]
        started = time.process_time()
        for offset in range(0, attempts, concurrency):
            batch = items[offset : offset + concurrency]
            await asyncio.gather(*(attempt(tools, item) for item in batch))
        if tracing is not None:
            await asyncio.to_thread(tracing.shutdown)  # the export of the last spans counts
        return (time.process_time() - started) / attempts * 1000


async def _cpu_per_request(requests: int, tracing: Tracing | None) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="onewatch-tracing-cost-"))
    settings = Settings(data_dir=data_dir, roles=["api"])
    store = open_store(settings.resolved_database_url)
    runtime = Runtime(settings=settings, store=store, tracing=tracing)
    app = create_app(runtime)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        return None

    for _warm_up in range(200):
        await app(dict(_HEALTHZ), receive, send)
    started = time.process_time()
    for _request in range(requests):
        await app(dict(_HEALTHZ), receive, send)
    if tracing is not None:
        await asyncio.to_thread(tracing.shutdown)
    await runtime.store.dispose()
    return (time.process_time() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing_cost")
    parser.add_argument("--attempts", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--api", action="store_true", help="an API request, not an attempt")
    args = parser.parse_args()
    work_dir = Path(tempfile.mkdtemp(prefix="onewatch-tracing-cost-"))
    sink = SinkProcess(procs.child_env(), work_dir / "sink.log")
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.base  # the sink answers 200 to all
    results: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for _round in range(args.rounds):
            for name in results:
                tracing = Tracing.start(("otlp",), node_id="bench") if name == "on" else None
                url = sink.url("/tracing-cost")
                cpu = asyncio.run(
                    _cpu_per_request(args.attempts, tracing)
                    if args.api
                    else _cpu_per_attempt(url, args.attempts, args.concurrency, tracing)
                )
                results[name].append(round(cpu, 4))
                sink.reset()
                print(name, results[name][-1], flush=True)
    finally:
        sink.stop()
    for name, runs in results.items():
        unit = "request" if args.api else "attempt"
        print(f"tracing {name}: CPU ms per {unit} {runs}, best {min(runs)}")


if __name__ == "__main__":
    main()
