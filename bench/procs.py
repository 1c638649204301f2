"""Watching the system under test from outside: RSS and CPU of its process, disk use."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

#: The repository root; child processes import ``onewatch`` from its ``src``.
REPO_ROOT = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for every subprocess: this checkout's ``src`` and ``bench`` first."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


def python() -> str:
    return sys.executable


class ProcessSampler:
    """Samples a process's RSS and CPU every ``interval`` seconds in a daemon thread."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.rss_mb: list[float] = []
        self.cpu_percent: list[float] = []
        self._cpu_start = self._cpu_seconds()
        self._wall_start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def _run(self) -> None:
        self._process.cpu_percent(None)
        while not self._stop.wait(self._interval):
            try:
                self.rss_mb.append(self._process.memory_info().rss / 2**20)
                self.cpu_percent.append(self._process.cpu_percent(None))
            except psutil.Error:
                return

    def stop(self) -> dict[str, Any]:
        """Stop sampling; peak and last RSS, mean CPU (% of one core) over the window."""
        try:
            cpu_used = self._cpu_seconds() - self._cpu_start
        except psutil.Error:
            cpu_used = float("nan")
        wall = time.monotonic() - self._wall_start
        self._stop.set()
        self._thread.join()
        return {
            "rss_mb_max": max(self.rss_mb, default=float("nan")),
            "rss_mb_last": self.rss_mb[-1] if self.rss_mb else float("nan"),
            "cpu_percent_mean": 100.0 * cpu_used / wall if wall > 0 else float("nan"),
            "cpu_seconds": cpu_used,
            "wall_seconds": wall,
        }


def idle_cpu_percent(pid: int, seconds: float) -> float:
    """CPU used by ``pid`` over ``seconds`` of wall time, in percent of one core."""
    process = psutil.Process(pid)
    before = process.cpu_times()
    start = time.monotonic()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user + after.system) - (before.user + before.system)
    return float(100.0 * used / (time.monotonic() - start))


def sqlite_size_bytes(database: Path) -> int:
    """The database file plus its WAL and shared-memory files, as they are on disk."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{database}{suffix}")
        if path.exists():
            total += path.stat().st_size
    return total
