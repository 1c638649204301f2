"""Reading the action, event and calendar documents a user keeps in a file (YAML or JSON).

Accepted, so that schedules kept as code and the original system's exports both load:
one document; a list of documents; ``{"calendars": [...], "actions": [...], "events":
[...]}`` (any of the three); JSON lines (a ``mongoexport`` dump); and several YAML
documents separated by ``---``, each any of these. Dates stay text (YAML would turn them
into objects JSON cannot carry); the server reads them, ``{"$date": ...}`` included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from onewatch.errors import ValidationFailed

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TextDatesLoader(yaml.SafeLoader):
    """The safe loader, with ISO dates left as strings."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"cannot read {path}: {exc}", field="FILE") from exc


def _json_lines(text: str) -> list[Any] | None:
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        return None


def _parsed(text: str, path: Path) -> list[Any]:
    """The top-level values in the file, whatever its syntax."""
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    lines = _json_lines(text)
    if lines is not None and text.lstrip().startswith("{"):
        return lines
    try:
        return list(yaml.load_all(text, Loader=_TextDatesLoader))  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(f"{path}{line}: not YAML or JSON: {problem}", field="FILE") from exc


#: The lists a file may group its documents in, in the order they are read.
_SECTIONS = ("calendars", "actions", "events")


def _documents(value: Any, path: Path) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        return [document for item in value for document in _documents(item, path)]
    if isinstance(value, dict) and "key" not in value and set(_SECTIONS) & set(value):
        unexpected = set(value) - set(_SECTIONS)
        if unexpected:
            raise ValidationFailed(
                f"{path}: unexpected top-level field(s) {', '.join(sorted(unexpected))}",
                field="FILE",
            )
        return [document for name in _SECTIONS for document in _documents(value.get(name), path)]
    if isinstance(value, dict):
        return [value]
    raise ValidationFailed(f"{path}: {type(value).__name__} is not a document", field="FILE")


def read_documents(path: Path) -> list[dict[str, Any]]:
    """Every action, event and calendar document in the file (``-``: standard input), in order."""
    text = _text(path)
    return [document for value in _parsed(text, path) for document in _documents(value, path)]
