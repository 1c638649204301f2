"""Profiling the server under load with py-spy (``python -m bench run --profile``).

Each node then runs as ``py-spy record --format raw -- python -m onewatch serve ...``;
the collapsed stacks land next to the run's logs, with a short summary of where the
time went (the frames that were on top of the stack most often), so a target missed
comes with the evidence of why.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import psutil  # type: ignore[import-untyped]

SAMPLE_RATE = 200
TOP = 25
OUR_CODE = "onewatch/"


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("--profile needs py-spy (pip install 'onewatch[bench]')")
    return found


def record_command(output: Path) -> list[str]:
    """The prefix that runs a command under py-spy, writing collapsed stacks."""
    rate = str(SAMPLE_RATE)
    return [py_spy(), "record", "--format", "raw", "--rate", rate, "-o", str(output), "--"]


def profiled_child(profiler_pid: int, timeout: float = 10.0) -> int:
    """The pid of the program py-spy started (its first child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = psutil.Process(profiler_pid).children()
        if children:
            return int(children[0].pid)
        time.sleep(0.05)
    raise RuntimeError("py-spy did not start its program")


def _tally(collapsed: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples per frame on top of the stack, per Onewatch frame anywhere in it, total."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        own[frames[-1]] += int(count)
        for frame in {f for f in frames if OUR_CODE in f}:
            inclusive[frame] += int(count)
        total += int(count)
    return own, inclusive, total


def _lines(title: str, counts: Counter[str], total: int, top: int) -> list[str]:
    share = [f"{100 * n / max(1, total):5.1f}%  {frame}" for frame, n in counts.most_common(top)]
    return [title, *share, ""]


def summarize(collapsed: Path, top: int = TOP) -> Path | None:
    """``<file>.top.txt``: where the samples were, by own time and by Onewatch function."""
    if not collapsed.is_file():
        return None
    own, inclusive, total = _tally(collapsed)
    lines = [f"{total} samples (start-up included)", ""]
    lines += _lines("Frames most often on top of the stack:", own, total, top)
    lines += _lines("Onewatch functions most often anywhere on the stack:", inclusive, total, top)
    summary = collapsed.with_suffix(".top.txt")
    summary.write_text("\n".join(lines))
    return summary
