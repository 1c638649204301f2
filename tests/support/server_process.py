"""``onewatch serve`` as a real process on a free port, and a real HTTP target to call.

For tests of code that blocks (the sync client, the CLI in a subprocess, the docs' shell
blocks): a server inside the test's own event loop would be blocked by them.

    with running_server(tmp_path) as server:
        token = server.token("billing")
        ... server.base_url ...
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from onewatch.security.tokens import mint_token

SRC = str(Path(__file__).resolve().parents[2] / "src")
START_DEADLINE_SECONDS = 30.0
_LISTENING = re.compile(r"running on (http://127\.0\.0\.1:\d+)")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's ONEWATCH_* settings, with this tree's source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWATCH_")}
    env["PYTHONPATH"] = SRC
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A running node: its URL, its JWT secret, and where its output goes."""

    base_url: str
    secret: str
    log: Path

    def token(self, service: str, *, admin: bool = False) -> str:
        return mint_token(self.secret, service, admin=admin, ttl=timedelta(hours=1))


def wait_for(condition: Any, *, within: float, what: str) -> Any:
    """Poll ``condition()`` until it returns something truthy, or fail naming ``what``."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within} s")
        time.sleep(0.05)


def _listening(process: subprocess.Popen[bytes], log: Path) -> str | None:
    match = _LISTENING.search(log.read_text(errors="replace"))
    if match:
        return match.group(1)
    if process.poll() is not None:
        raise RuntimeError(f"onewatch serve exited early:\n{log.read_text(errors='replace')}")
    return None


@contextmanager
def running_server(folder: Path, **settings: str) -> Iterator[ServerProcess]:
    """``onewatch serve`` (all roles, SQLite in ``folder``) until the block ends;
    ``settings`` are more ``ONEWATCH_*`` variables for it."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    env = clean_env(
        ONEWATCH_JWT_SECRET=secret,
        ONEWATCH_DISPATCHER_POLL_SECONDS="0.2",
        ONEWATCH_SCHEDULER_MAX_IDLE_SECONDS="0.2",
        **settings,
    )
    log = folder / "server.log"
    command = [sys.executable, "-m", "onewatch", "serve", "--port", "0", "--data-dir", "data"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=output)
    try:
        url = wait_for(
            lambda: _listening(process, log), within=START_DEADLINE_SECONDS, what="server start"
        )
        yield ServerProcess(url, secret, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=START_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Received:
    """One request the target received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Target:
    """An HTTP server answering ``/status/<code>`` with that status; it keeps what it got."""

    base_url: str
    received: list[Received] = field(default_factory=list)

    def url(self, status: int = 200) -> str:
        return f"{self.base_url}/status/{status}"


def _handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            target.received.append(Received(self.path, dict(self.headers.items()), body))
            code = int(self.path.rsplit("/", 1)[-1]) if "/status/" in self.path else 200
            reply = json.dumps({"status": code}).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads ``received`` instead."""

    return Handler


@contextmanager
def running_target() -> Iterator[Target]:
    """A threaded HTTP server on 127.0.0.1 and a free port, until the block ends."""
    target = Target("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
    target.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``onewatch serve`` per test module (tests keep apart by service name)."""
    with running_server(tmp_path_factory.mktemp("node")) as node:
        yield node


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """One HTTP target per test module."""
    with running_target() as running:
        yield running
