"""Every row of the shared conformance vectors (read at test time, never copied here).

The folder is ``<repo root>/../shared/conformance`` (CI clones the repository with
``shared/`` beside it), or ``$ONEWATCH_SHARED_DIR/conformance``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from onewatch import InvalidPattern, next_occurrence
from onewatch.domain.schedule import ScheduleSpec, compile_schedule

REPO_ROOT = Path(__file__).resolve().parents[3]


def conformance_dir() -> Path:
    shared = os.environ.get("ONEWATCH_SHARED_DIR") or str(REPO_ROOT.parent / "shared")
    return Path(shared) / "conformance"


def load_rows(name: str) -> list[Any]:
    """The rows of one vector file, each a pytest param named by its id."""
    path = conformance_dir() / name
    if not path.is_file():
        reason = f"conformance vectors not found at {path} (set ONEWATCH_SHARED_DIR)"
        return [pytest.param(None, id="missing", marks=pytest.mark.skip(reason=reason))]
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert rows, f"{path} is empty"
    return [pytest.param(row, id=row["id"]) for row in rows]


@pytest.mark.parametrize("row", load_rows("cron_next.jsonl"))
def test_next_occurrence_vector(row: dict[str, Any]) -> None:
    after = datetime.fromisoformat(row["after"])
    expected = datetime.fromisoformat(row["expected_next"])
    got = next_occurrence(row["pattern"], row["tz"], after)
    assert got is not None
    assert got == expected, row["note"]
    assert got.utcoffset() is not None and got.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("row", load_rows("cron_next.jsonl"))
def test_compiled_schedule_agrees(row: dict[str, Any]) -> None:
    """The event-level path (parsed once) gives the same first fire."""
    schedule = compile_schedule(ScheduleSpec(row["pattern"], row["tz"]))
    after = datetime.fromisoformat(row["after"])
    assert schedule.next_fire(after, 0) == datetime.fromisoformat(row["expected_next"])


@pytest.mark.parametrize("row", load_rows("cron_invalid.jsonl"))
def test_invalid_vector_is_rejected(row: dict[str, Any]) -> None:
    with pytest.raises(InvalidPattern) as caught:
        compile_schedule(ScheduleSpec(row["pattern"], row["tz"]))
    assert caught.value.field == "pattern"
    assert str(caught.value) == f"pattern: {caught.value.reason}"
    assert caught.value.reason
