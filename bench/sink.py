"""The webhook sink: a separate aiohttp process that records what every system sends.

Every request outside ``/_sink/`` is answered 200 at once and recorded with its receipt
wall time (``time.time_ns``), its ``webhook-id`` and its ``Onewatch-Scheduled-For`` (the
due instant, ISO UTC; the APScheduler baseline sends the same two headers). The harness
reads the records over ``/_sink/records`` and resets between runs; ``--dump`` writes
them to a file at exit as well.

Run alone: ``python -m bench.sink --port 0`` prints ``SINK READY <port>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.stats import Receipt, clean_floats, summarize

READY_PREFIX = "SINK READY "
ID_HEADER = "webhook-id"
DUE_HEADER = "Onewatch-Scheduled-For"

Record = tuple[int, str, str, str]


class Recorder:
    """The records of one sink process, in arrival order."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        #: How long each answer waits after the request is recorded (a slow target).
        self.delay_seconds = delay_seconds
        self.records: list[Record] = []
        # Counted as they arrive: the harness polls counts during measured runs, and a
        # scan of every record per poll would take the sink's CPU from the run.
        self.per_path: Counter[str] = Counter()

    async def receive(self, request: web.Request) -> web.Response:
        received = time.time_ns()
        headers = request.headers
        self.records.append(
            (received, headers.get(ID_HEADER, ""), headers.get(DUE_HEADER, ""), request.path)
        )
        self.per_path[request.path] += 1
        # Drain the body so keep-alive connections stay usable.
        await request.read()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return web.Response(status=200)

    def matching(self, prefix: str) -> list[Record]:
        return [record for record in self.records if record[3].startswith(prefix)]

    async def list_records(self, request: web.Request) -> web.Response:
        return web.json_response(self.matching(request.query.get("path", "")))

    async def count(self, request: web.Request) -> web.Response:
        prefix = request.query.get("path", "")
        count = sum(n for path, n in self.per_path.items() if path.startswith(prefix))
        return web.json_response({"count": count})

    async def report(self, request: web.Request) -> web.Response:
        receipts = [Receipt(*record) for record in self.matching(request.query.get("path", ""))]
        return web.json_response(clean_floats(summarize(receipts)))

    async def reset(self, _request: web.Request) -> web.Response:
        self.records.clear()
        self.per_path.clear()
        return web.json_response({"count": 0})


def build_app(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/_sink/records", recorder.list_records)
    app.router.add_get("/_sink/count", recorder.count)
    app.router.add_get("/_sink/report", recorder.report)
    app.router.add_post("/_sink/reset", recorder.reset)
    app.router.add_route("*", "/{tail:.*}", recorder.receive)
    return app


async def serve(port: int, delay_seconds: float = 0.0) -> list[Record]:
    recorder = Recorder(delay_seconds)
    runner = web.AppRunner(build_app(recorder), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"{READY_PREFIX}{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
    return recorder.records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dump", type=Path, default=None, help="write records here at exit")
    parser.add_argument(
        "--delay-ms", type=float, default=0.0, help="answer each request this much later"
    )
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        records = asyncio.run(serve(args.port, args.delay_ms / 1000))
    else:
        records = uvloop.run(serve(args.port, args.delay_ms / 1000))
    if args.dump is not None:
        args.dump.write_text(json.dumps(records))


@dataclass(frozen=True)
class Waiting:
    """When to stop waiting for deliveries (``time.monotonic`` instants, seconds)."""

    deadline: float
    quiet_after: float
    quiet_seconds: float
    settle: float = 1.0

    def over(self, last_change: float) -> bool:
        now = time.monotonic()
        if now >= self.deadline:
            return True
        quiet_since = max(last_change, self.quiet_after)
        return now >= self.quiet_after and now - quiet_since >= self.quiet_seconds


class SinkProcess:
    """The harness's handle on a sink subprocess."""

    def __init__(self, env: dict[str, str], log_path: Path, delay_ms: float = 0.0) -> None:
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sink", "--port", "0", "--delay-ms", str(delay_ms)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(READY_PREFIX):
            self.stop()
            raise RuntimeError(f"sink did not start (see {log_path}): {line!r}")
        self.port = int(line[len(READY_PREFIX) :])
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            self.base + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("/_sink/reset", "POST")

    def count(self, path: str = "") -> int:
        return int(self._call(f"/_sink/count?path={path}")["count"])

    def receipts(self, path: str = "") -> list[Receipt]:
        return [Receipt(*row) for row in self._call(f"/_sink/records?path={path}")]

    def wait_for(self, expected: int, path: str, until: Waiting) -> int:
        """Poll until ``expected`` receipts arrived, the sink went quiet, or the deadline.

        Then wait ``until.settle`` seconds more, so late duplicates are counted too.
        """
        count = self.count(path)
        changed = time.monotonic()
        while count < expected and not until.over(changed):
            time.sleep(0.2)
            latest = self.count(path)
            if latest != count:
                count, changed = latest, time.monotonic()
        time.sleep(until.settle)
        return self.count(path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


if __name__ == "__main__":
    main()
