"""The dashboard overview over many events: its render time and the event loop's stall.

Each ``name=path`` is a checkout whose ``src/`` serves the app (the harness is this one's);
each runs in its own process, one after the other, in one sitting::

    python -m bench.overview before=/tmp/dash-before after=. --events 10000 --renders 3

In that process: a node (role ``api``, SQLite file) on a free port, ``--events`` events
created through the API (a mix of dense, hourly, daily, office-hours and one-shot
schedules over ten services), then ``--renders`` admin renders of ``/ui/`` (all
services). During each render a task on the server's loop measures how late its 10 ms
sleeps wake (the loop's stall: what every due fire waits behind), and a second client
polls ``/healthz``. It prints one row per render and checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HARNESS_ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-of-at-least-thirty-two-bytes-long"
SERVICES = 10
TICK_SECONDS = 0.01
SEED_CONCURRENCY = 16
START_POLLS = 400
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _schedule(number: int, now: datetime) -> dict[str, Any]:
    """The n-th event's schedule: eight kinds in turn."""
    kind = number % 8
    patterns: dict[int, tuple[str, str]] = {
        0: ("* * * * *", "UTC"),
        1: ("*/5 * * * *", "UTC"),
        2: ("@every 30s", "UTC"),
        3: ("0 * * * *", "UTC"),
        4: (f"{number % 60} {number % 24} * * *", "UTC"),
        5: ("*/15 9-17 * * MON-FRI", "Europe/Berlin"),
        6: ("0 9 * * *", "America/Sao_Paulo"),
    }
    if kind == 7:
        instant = (now + timedelta(minutes=1 + number % 1440)).replace(second=0, microsecond=0)
        return {"pattern": instant.isoformat().replace("+00:00", "Z"), "timezone": "UTC"}
    pattern, zone = patterns[kind]
    return {"pattern": pattern, "timezone": zone}


async def _seed(base: str, count: int, token: Any) -> None:
    now = datetime.now(UTC)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while not queue.empty():
                number = queue.get_nowait()
                service = f"svc{number % SERVICES}"
                document = {
                    "key": f"e{number}",
                    "webhook": {"endpoint": "http://127.0.0.1:9/hook"},
                    "schedulingPattern": _schedule(number, now),
                }
                headers = {"Authorization": f"Bearer {token(service)}"}
                answer = await http.post("/v1/events", json=document, headers=headers)
                answer.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(SEED_CONCURRENCY)))


class StallMonitor:
    """How late the loop wakes from short sleeps; the worst since the last ``reset``."""

    def __init__(self) -> None:
        self.worst = 0.0

    def reset(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK_SECONDS)
            self.worst = max(self.worst, loop.time() - before - TICK_SECONDS)


def _poll_health(base: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        while not stop.is_set():
            start = time.perf_counter()
            http.get("/healthz").raise_for_status()
            latencies.append(time.perf_counter() - start)
            stop.wait(0.02)


def _render_once(http: httpx.Client, base: str, monitor: StallMonitor) -> dict[str, float]:
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll_health, args=(base, stop, latencies))
    monitor.reset()
    poller.start()
    start = time.perf_counter()
    page = http.get("/ui/")
    elapsed = time.perf_counter() - start
    stop.set()
    poller.join()
    page.raise_for_status()
    return {
        "render_s": round(elapsed, 3),
        "loop_stall_max_ms": round(monitor.worst * 1000, 1),
        "healthz_max_ms": round(max(latencies, default=0.0) * 1000, 1),
        "healthz_answers": len(latencies),
        "chart_fires": sum(int(n) for n in re.findall(r"<td>(?:at least )?(\d+)</td>", page.text)),
    }


def _renders(base: str, token: str, renders: int, monitor: StallMonitor) -> list[dict[str, float]]:
    with httpx.Client(base_url=base, timeout=600) as http:
        form = http.get("/ui/login").text
        csrf = _CSRF.search(form)
        assert csrf, "no CSRF token on the sign-in page"
        signed = http.post("/ui/login", data={"token": token, "csrf_token": csrf.group(1)})
        assert signed.status_code == 303, signed.text
        return [_render_once(http, base, monitor) for _ in range(renders)]


async def _probe(events: int, renders: int) -> list[dict[str, float]]:
    import uvicorn
    from pydantic import SecretStr

    from onewatch.api.app import create_app
    from onewatch.clock import SystemClock
    from onewatch.runtime import Runtime
    from onewatch.security.tokens import mint_token
    from onewatch.settings import Settings
    from onewatch.store import open_store

    data_dir = Path(tempfile.mkdtemp(prefix="onewatch-overview-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'onewatch.db'}",
        roles=["api"],
        jwt_secret=SecretStr(SECRET),
    )
    runtime = Runtime(
        settings=settings, store=open_store(settings.resolved_database_url), clock=SystemClock()
    )
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=0, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(START_POLLS):  # uvicorn offers a flag, not an event
        if server.started:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("uvicorn did not start")
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    await _seed(base, events, lambda service: mint_token(SECRET, service))
    monitor = StallMonitor()
    watching = asyncio.create_task(monitor.run())
    admin = mint_token(SECRET, "bench", admin=True, ttl=timedelta(hours=2))
    try:
        return await asyncio.to_thread(_renders, base, admin, renders, monitor)
    finally:
        watching.cancel()
        server.should_exit = True
        await serving
        await runtime.store.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)


def _run_checkout(root: Path, events: int, renders: int) -> list[dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "src"), str(HARNESS_ROOT)]))
    command = [sys.executable, "-m", "bench.overview", "--probe"]
    command += ["--events", str(events), "--renders", str(renders)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{root}: probe failed\n{done.stderr}")
    rows: list[dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overview")
    parser.add_argument("checkouts", nargs="*", help="name=path of a checkout")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--renders", type=int, default=3)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(asyncio.run(_probe(args.events, args.renders))))
        return
    for pair in args.checkouts or ["this=."]:
        name, _, path = pair.partition("=")
        for number, row in enumerate(
            _run_checkout(Path(path).resolve(), args.events, args.renders)
        ):
            print(name, number, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
