"""One Onewatch node under test: ``python -m onewatch serve`` in its own process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import profiling
from bench.procs import child_env, python
from onewatch.security.tokens import load_or_create_secret, mint_token

READY_PATHS = ("/readyz", "/healthz")


def free_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_token(data_dir: Path) -> str:
    """What ``onewatch token create --service bench --admin`` prints, minted here.

    Same secret file and same claims as the CLI, without parsing its output.
    """
    secret, _created = load_or_create_secret(data_dir)
    return mint_token(secret, "bench", admin=True)


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class OnewatchNode:
    """Starts the server on a fresh port; ``stop`` sends SIGTERM and waits."""

    def __init__(
        self, data_dir: Path, log_path: Path, profile_to: Path | None = None, **env: str
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("w")
        self._log_path = log_path
        settings_env = {
            "ONEWATCH_DATA_DIR": str(data_dir),
            "ONEWATCH_PORT": str(self.port),
            "ONEWATCH_LOG_LEVEL": "WARNING",
            # The bench is one service driving the node flat out: per-service quotas
            # (request rate, live events, concurrent deliveries) would measure the quota.
            "ONEWATCH_QUOTA_REQUESTS_PER_SECOND": "0",
            "ONEWATCH_QUOTA_MAX_EVENTS": "0",
            "ONEWATCH_QUOTA_MAX_CONCURRENT_DELIVERIES": "0",
            **env,
        }
        command = [python(), "-m", "onewatch", "serve"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        self.profiled = profile_to is not None
        if profile_to is not None:
            command = profiling.record_command(profile_to) + command
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=child_env(**settings_env),
        )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        """The server's process (not the profiler's, when it runs under py-spy)."""
        if not self.profiled:
            return self.process.pid
        return profiling.profiled_child(self.process.pid)

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Block until the node answers its readiness probe; seconds it took."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"onewatch exited early: {self.log_tail()}")
            for path in READY_PATHS:
                if _answers(self.base + path) == 200:
                    return time.monotonic() - self.started
            time.sleep(0.1)
        raise RuntimeError(f"onewatch not ready after {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 30.0) -> int | None:
        if self.process.poll() is None:
            # Under py-spy, stop the server: the profiler then writes its file and exits.
            with contextlib.suppress(ProcessLookupError, RuntimeError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()
        return self.process.returncode
