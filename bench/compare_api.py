"""The API create run for two or more checkouts, alternating, in one sitting.

On a shared machine the rate moves by a third from one minute to the next, so a change
is judged by runs of each version taken in turn over the same prepared store:

    python -m bench.compare_api before=/tmp/old-checkout after=. --rounds 4 --seconds 12

Each name=path is a checkout whose ``src/`` the server is started from (the harness is
this one's). It prints creates/s, p99 (ms) and server CPU per create (ms) per run.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from bench import procs
from bench.checkouts import parse_checkouts
from bench.config import FULL
from bench.context import Context
from bench.scenarios import api
from bench.sink import SinkProcess


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_api")
    parser.add_argument("checkouts", nargs="+", help="name=path of a checkout")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    checkouts = parse_checkouts(args.checkouts)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="onewatch-compare-"))
    sink = SinkProcess(procs.child_env(), work_dir / "sink.log")
    sizes = dataclasses.replace(FULL, api_seconds=args.seconds, api_list_requests=20)
    ctx = Context(sizes, False, ("onewatch-sqlite",), work_dir, work_dir / "results", sink)
    rows: dict[str, list[tuple[int, float, float]]] = {name: [] for name in checkouts}
    try:
        for round_number in range(args.rounds):
            for name, root in checkouts.items():
                procs.REPO_ROOT = root  # the server's src/ comes first on its path
                result = api.run_onewatch(ctx)
                creates = result["creates"]
                row = (
                    round(creates["per_second"]),
                    round(creates["latency_ms"]["p99"], 1),
                    round(result["cpu_seconds"] / creates["ok"] * 1000, 3),
                )
                rows[name].append(row)
                print(round_number, name, row, flush=True)
    finally:
        sink.stop()
    for name, runs in rows.items():
        print(
            f"{name}: creates/s {[r[0] for r in runs]} p99 ms {[r[1] for r in runs]}"
            f" CPU ms per create {[r[2] for r in runs]}"
        )


if __name__ == "__main__":
    main()
