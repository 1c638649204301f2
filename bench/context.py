"""What every scenario shares in one invocation: sizes, the sink, prepared stores."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench.config import Sizes
from bench.sink import SinkProcess
from bench.stats import clean_floats

PACKAGES = ("aiohttp", "apscheduler", "sqlalchemy", "uvloop", "cronsim", "croniter")


@dataclass
class Context:
    sizes: Sizes
    quick: bool
    systems: tuple[str, ...]
    work_dir: Path
    results_dir: Path
    sink: SinkProcess
    #: Prepared stores, built once per invocation: (system, stored count) -> path.
    templates: dict[tuple[str, int], Path] = field(default_factory=dict)
    #: How long each prepared store took to build and its size on disk.
    template_info: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    #: What building the APScheduler store taught: its add rate and how far it got.
    aps_build: dict[str, Any] = field(default_factory=dict)
    #: Run each Onewatch node under py-spy and keep its profile.
    profile: bool = False
    #: Run when the suite ends, last first (dropping PostgreSQL databases).
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    _run_counter: int = 0

    def run_id(self, label: str) -> str:
        self._run_counter += 1
        return f"{label}-{self._run_counter:03d}"

    def run_dir(self, run_id: str) -> Path:
        path = self.work_dir / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def wants(self, system: str) -> bool:
        return system in self.systems


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpus": psutil.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def write_result(ctx: Context, scenario: str, body: dict[str, Any]) -> Path:
    """``results/<scenario>.json``: the runs and enough context to read them later."""
    ctx.results_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "scenario": scenario,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": ctx.quick,
        "machine": machine(),
        "sizes": {k: v for k, v in vars(ctx.sizes).items()},
        **body,
    }
    path = ctx.results_dir / f"{scenario}.json"
    path.write_text(json.dumps(clean_floats(document), indent=1) + "\n")
    return path
