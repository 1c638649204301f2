"""Regenerating BENCHMARKS.md's tables and the plots from ``results/*.json``.

Each table sits between ``<!-- bench:NAME:begin -->`` and ``<!-- bench:NAME:end -->``;
only those blocks are rewritten, so the prose around them stays as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench import plots, tables, targets

BEGIN = "<!-- bench:{name}:begin -->"
END = "<!-- bench:{name}:end -->"


def _load(results_dir: Path, name: str) -> dict[str, Any] | None:
    path = results_dir / f"{name}.json"
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _block(name: str, document: dict[str, Any] | None) -> str:
    if document is None:
        body = "_Not measured yet._"
    else:
        stamp = f"_{document.get('generated_at')}, {document.get('machine', {}).get('cpus')} CPUs"
        stamp += ", quick sizes (smoke test only)_" if document.get("quick") else "_"
        body = stamp + "\n\n" + tables.SECTIONS[name](document)
    return f"{BEGIN.format(name=name)}\n{body}\n{END.format(name=name)}"


def _replace(markdown: str, name: str, block: str) -> str:
    pattern = re.compile(
        re.escape(BEGIN.format(name=name)) + r".*?" + re.escape(END.format(name=name)), re.S
    )
    if pattern.search(markdown):
        return pattern.sub(lambda _match: block, markdown)
    return markdown.rstrip() + f"\n\n## {name}\n\n{block}\n"


def draw(results_dir: Path) -> list[Path]:
    drawn: list[Path | None] = []
    burst = _load(results_dir, "burst")
    if burst is not None:
        drawn.append(plots.burst_cdf(burst, results_dir))
    steady = _load(results_dir, "steady")
    if steady is not None:
        rate = steady.get("sizes", {}).get("steady_sweep_rate", 1000)
        drawn.append(plots.steady_vs_stored(steady, results_dir, rate))
        drawn.append(plots.steady_vs_rate(steady, results_dir))
    return [path for path in drawn if path is not None]


def _targets_block(documents: targets.Documents) -> str:
    body = targets.verdicts(documents)
    return f"{BEGIN.format(name='targets')}\n{body}\n{END.format(name='targets')}"


def regenerate(results_dir: Path, markdown_path: Path) -> None:
    draw(results_dir)
    markdown = markdown_path.read_text() if markdown_path.is_file() else "# Benchmarks\n"
    documents = {name: _load(results_dir, name) for name in tables.SECTIONS}
    markdown = _replace(markdown, "targets", _targets_block(documents))
    for name, document in documents.items():
        markdown = _replace(markdown, name, _block(name, document))
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown)
