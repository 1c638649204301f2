"""``python -m bench``: run the benchmark suite, or regenerate its report.

Examples::

    python -m bench run --quick                      # smoke test, a minute or two
    python -m bench run                              # the full suite (long: see BENCHMARKS.md)
    python -m bench run --only burst --systems apscheduler
    python -m bench report                           # tables and plots from results/*.json
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from bench.config import SCENARIOS, SYSTEMS

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
MARKDOWN = BENCH_DIR.parent / "BENCHMARKS.md"


def _names(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}"
        )
    return names


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run scenarios, write results, plots and tables")
    run.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, results in bench/results/quick/ (a smoke test)",
    )
    run.add_argument(
        "--only",
        type=lambda t: _names(t, SCENARIOS, "scenario"),
        default=SCENARIOS,
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    run.add_argument(
        "--systems",
        type=lambda t: _names(t, SYSTEMS, "system"),
        default=SYSTEMS,
        help=f"comma-separated subset of {','.join(SYSTEMS)}",
    )
    run.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where stores and logs go (default: a new temporary folder)",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="run Onewatch under py-spy; profiles and their summaries go to the work dir",
    )
    report = commands.add_parser("report", help="regenerate tables and plots from results")
    report.add_argument("--quick", action="store_true", help="from bench/results/quick/")
    return main


def results_dir(quick: bool) -> Path:
    return RESULTS_DIR / "quick" if quick else RESULTS_DIR


def markdown_path(quick: bool) -> Path:
    # A smoke test must not overwrite the published figures.
    return results_dir(True) / "BENCHMARKS.quick.md" if quick else MARKDOWN


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    # Measure this checkout's code, not whatever an editable install points at.
    source = str(BENCH_DIR.parent / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    # Imported here so ``--help`` works without the benchmark dependencies installed.
    from bench import report, suite

    if args.command == "run":
        work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="onewatch-bench-"))
        suite.run(
            args.only, args.systems, args.quick, work_dir, results_dir(args.quick), args.profile
        )
    report.regenerate(results_dir(args.quick), markdown_path(args.quick))


if __name__ == "__main__":
    main()
