"""Fairness: how late other services' deliveries are while one host hangs for some.

Issue 15's reproduction, for two or more checkouts in turn:

    python -m bench.fairness before=/tmp/old-checkout after=. --hang 120

One target process (this one) listens on two ports of 127.0.0.1. On the first, a
request to ``/hang/...`` is held for ``--hang`` seconds and one to ``/ok/...`` answered
at once; the second port answers everything at once (another host, to aiohttp's pool).
A node (SQLite, default settings but the API rate quota) gets, through its API, three
"stuck" services with ``--events`` one-shots each (``--stuck-events`` if given) to the
hanging path, due at T0, and three healthy services with ``--events`` each, due half a
second later: two of them on the same host and port as the hanging path, one on the
other port. It prints, per group,
how many arrived and their lateness (first arrival minus due instant), and waits for
every healthy one or until ``--hang`` plus 30 s have passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import procs
from bench.checkouts import parse_checkouts
from bench.onewatch_node import OnewatchNode, admin_token

STUCK = ("stuck-1", "stuck-2", "stuck-3")
SAME_HOST = ("healthy-1", "healthy-2")
OTHER_HOST = ("healthy-3",)
LEAD_SECONDS = 10.0
#: API creates in flight while registering, and a pessimistic rate for the lead time.
REGISTER_CONCURRENCY = 16
REGISTER_PER_SECOND = 25


@dataclass
class Target:
    """Two ports on 127.0.0.1; records the first arrival of each path."""

    hang_seconds: float
    arrivals: dict[str, float] = field(default_factory=dict)
    #: Paths whose arrival ends the wait, and the event set once all have arrived.
    awaited: set[str] = field(default_factory=set)
    all_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    ports: list[int] = field(default_factory=list)
    runners: list[web.AppRunner] = field(default_factory=list)

    async def _handle(self, request: web.Request) -> web.Response:
        self.arrivals.setdefault(request.path, time.time())
        if self.awaited and self.awaited.issubset(self.arrivals):
            self.all_arrived.set()
        if request.path.startswith("/hang/"):
            await asyncio.sleep(self.hang_seconds)
        return web.Response(text="ok")

    async def start(self) -> None:
        for _ in range(2):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            self.ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            self.runners.append(runner)

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


def _plan(
    target: Target, events: int, stuck_events: int, t0: datetime
) -> list[tuple[str, str, str, datetime]]:
    """(service, key, endpoint, due) of every event."""
    same, other = (f"http://127.0.0.1:{port}" for port in target.ports)
    groups: list[tuple[tuple[str, ...], str, str, datetime]] = [(STUCK, same, "hang", t0)]
    groups += [(SAME_HOST, same, "ok", t0 + timedelta(seconds=0.5))]
    groups += [(OTHER_HOST, other, "ok", t0 + timedelta(seconds=0.5))]
    return [
        (service, f"e{n}", f"{base}/{path}/{service}/e{n}", due)
        for services, base, path, due in groups
        for service in services
        for n in range(stuck_events if path == "hang" else events)
    ]


async def _register(base: str, token: str, plan: list[tuple[str, str, str, datetime]]) -> None:
    """Create every event through the API, a few requests at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(REGISTER_CONCURRENCY)
    async with aiohttp.ClientSession(base, headers=headers) as client:

        async def put(service: str, key: str, endpoint: str, due: datetime) -> None:
            body = {
                "key": key,
                "type": "webhook",
                "webhook": {"endpoint": endpoint, "method": "POST"},
                "schedulingPattern": {"pattern": due.isoformat().replace("+00:00", "Z")},
            }
            async with gate, client.put(f"/v1/events/{service}/{key}", json=body) as answer:
                if answer.status >= 300:
                    raise RuntimeError(f"{service}/{key}: {answer.status} {await answer.text()}")

        await asyncio.gather(*(put(*item) for item in plan))


def _lateness(
    target: Target, plan: list[tuple[str, str, str, datetime]], group: tuple[str, ...]
) -> dict[str, Any]:
    late = []
    expected = 0
    for service, _key, endpoint, due in plan:
        if service not in group:
            continue
        expected += 1
        path = "/" + endpoint.split("/", 3)[3]
        if path in target.arrivals:
            late.append(target.arrivals[path] - due.timestamp())
    late.sort()
    if not late:
        return {"arrived": 0, "expected": expected}
    return {
        "arrived": len(late),
        "expected": expected,
        "p50_s": round(statistics.median(late), 3),
        "p99_s": round(late[min(len(late) - 1, int(len(late) * 0.99))], 3),
        "max_s": round(late[-1], 3),
    }


def _healthy_paths(plan: list[tuple[str, str, str, datetime]]) -> set[str]:
    healthy = set(SAME_HOST + OTHER_HOST)
    return {"/" + e.split("/", 3)[3] for s, _k, e, _d in plan if s in healthy}


async def run_once(
    root: Path, hang: float, events: int, stuck_events: int, work_dir: Path
) -> dict[str, Any]:
    """One node from checkout ``root`` through the whole scenario."""
    procs.REPO_ROOT = root  # the node's src/ comes first on its path
    data_dir = Path(tempfile.mkdtemp(prefix="fair-", dir=work_dir))
    target = Target(hang)
    await target.start()
    node = OnewatchNode(
        data_dir, data_dir / "node.log", ONEWATCH_QUOTA_MAX_CONCURRENT_DELIVERIES="32"
    )
    try:
        await asyncio.to_thread(node.wait_ready)
        lead = LEAD_SECONDS + (3 * stuck_events + 3 * events) / REGISTER_PER_SECOND
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
        plan = _plan(target, events, stuck_events, t0)
        target.awaited = _healthy_paths(plan)
        await _register(node.base, admin_token(data_dir), plan)
        if time.time() > t0.timestamp():
            raise RuntimeError("registering took longer than the lead; raise LEAD_SECONDS")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(t0.timestamp() + hang + 30 - time.time()):
                await target.all_arrived.wait()
        return {
            "stuck": _lateness(target, plan, STUCK),
            "same_host": _lateness(target, plan, SAME_HOST),
            "other_host": _lateness(target, plan, OTHER_HOST),
        }
    finally:
        await asyncio.to_thread(node.stop)
        await target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness")
    parser.add_argument("checkouts", nargs="+", help="name=path of a checkout")
    parser.add_argument("--hang", type=float, default=120.0, help="seconds /hang/ is held")
    parser.add_argument("--events", type=int, default=40, help="events per service")
    parser.add_argument(
        "--stuck-events", type=int, default=None, help="events per stuck service (--events)"
    )
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="onewatch-fairness-"))
    for name, root in parse_checkouts(args.checkouts).items():
        stuck = args.events if args.stuck_events is None else args.stuck_events
        result = asyncio.run(run_once(root, args.hang, args.events, stuck, work_dir))
        print(name, result, flush=True)


if __name__ == "__main__":
    main()
