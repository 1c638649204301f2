"""``name=path`` arguments naming checkouts to measure side by side in one run."""

from __future__ import annotations

from pathlib import Path


def parse_checkouts(pairs: list[str]) -> dict[str, Path]:
    """Each ``name=path`` as name -> checkout root; a path without ``src/onewatch`` stops."""
    found = {}
    for pair in pairs:
        name, _, path = pair.partition("=")
        root = Path(path or ".").resolve()
        if not (root / "src" / "onewatch").is_dir():
            raise SystemExit(f"{pair}: no src/onewatch under {root}")
        found[name] = root
    return found
