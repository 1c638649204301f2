"""Running ``onewatch.engine.worker`` (scheduler + dispatcher, no API) as a real process."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import onewatch
from onewatch.settings import Settings

SRC = str(Path(onewatch.__file__).resolve().parents[1])


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ONEWATCH_") and key != "PYTHONPATH"
    }
    env.update(
        {
            "PYTHONPATH": SRC,
            "ONEWATCH_DATA_DIR": str(settings.data_dir),
            "ONEWATCH_DATABASE_URL": settings.resolved_database_url,
            "ONEWATCH_ROLES": '["scheduler", "dispatcher"]',
            "ONEWATCH_DISPATCHER_POLL_SECONDS": "0.2",
            "ONEWATCH_LOG_FORMAT": "json",
            **extra,
        }
    )
    return env


async def start_worker(env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    log = log_path.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "onewatch.engine.worker",
            env=env,
            stdout=log,
            stderr=log,
            cwd=str(log_path.parent),
        )
    finally:
        log.close()


async def wait_exit(process: asyncio.subprocess.Process, seconds: float) -> int:
    try:
        async with asyncio.timeout(seconds):
            return await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"worker did not exit within {seconds} s") from None
