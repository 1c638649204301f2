"""A private ``redis-server`` on a free port, for tests that kill or restart it.

Never the shared server at ONEWATCH_TEST_REDIS_URL: other tests use that one.
It keeps nothing on disk, so a restart is a Redis that lost all its data.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class PortTaken(RuntimeError):
    """The server could not listen on its port (another process took it)."""


class RedisServer:
    """Start, SIGKILL and restart one ``redis-server`` process on one port."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, deadline_seconds: float = 10.0) -> None:
        """Start on this server's port; a first start retries elsewhere if it is taken."""
        for _attempt in range(3):
            try:
                self._start_once(deadline_seconds)
                return
            except PortTaken:
                if self.started_once:
                    raise
                self.port = free_port()
        raise PortTaken(f"no free port for redis-server after 3 tries (last {self.port})")

    def _start_once(self, deadline_seconds: float) -> None:
        assert self.binary is not None
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_until_accepting(deadline_seconds)

    def _wait_until_accepting(self, deadline_seconds: float) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PortTaken(f"redis-server exited at start (port {self.port} taken?)")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        self.started_once = True
                        return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation and forgets everything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()
