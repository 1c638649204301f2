"""Running the chosen scenarios in one invocation, the sink shared by all of them."""

from __future__ import annotations

import logging
from pathlib import Path

from bench.config import FULL, QUICK
from bench.context import Context
from bench.procs import child_env
from bench.scenarios import api, batch, burst, engine, idle, scale, steady
from bench.sink import SinkProcess

log = logging.getLogger("bench")

RUNNERS = {
    "burst": burst.run,
    "steady": steady.run,
    "idle": idle.run,
    "api": api.run,
    "engine": engine.run,
    "scale": scale.run,
    "batch": batch.run,
    "scale-kill": scale.run_kill,
}


def run(
    scenarios: tuple[str, ...],
    systems: tuple[str, ...],
    quick: bool,
    work_dir: Path,
    results_dir: Path,
    profile: bool = False,
) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    log.info("work dir %s", work_dir)
    sink = SinkProcess(child_env(), work_dir / "sink.log")
    ctx = Context(
        sizes=QUICK if quick else FULL,
        quick=quick,
        systems=systems,
        work_dir=work_dir,
        results_dir=results_dir,
        sink=sink,
        profile=profile,
    )
    try:
        for name in scenarios:
            log.info("scenario %s", name)
            path = RUNNERS[name](ctx)
            log.info("wrote %s", path)
    finally:
        sink.stop()
        for cleanup in reversed(ctx.cleanups):
            try:
                cleanup()
            except Exception as exc:  # one failed clean-up must not hide the others
                log.warning("clean-up failed: %s", exc)
