"""Naming the field a refused value came from, the same way at every way in.

The API's 422 bodies, the dashboard's form errors and the batch endpoint's per-item
results all say ``{"field": "schedulingPattern.pattern", "reason": ...}``: one spelling
of a field's path, whichever of them caught the mistake, so none of them needs the
other's web layer to say it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Where FastAPI says a request value came from: not part of the field's name.
_LOCATIONS = ("body", "query", "path", "header")


def field_path(location: Sequence[str | int]) -> str:
    """``("body", "schedulingPattern", "pattern")`` -> ``"schedulingPattern.pattern"``.

    A refused dict key (``("params", "header", "Host", "[key]")``) is named by its path.
    """
    parts = [part for part in location if part != "[key]"]
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def pydantic_errors(
    errors: Sequence[Any], prefix: Sequence[str | int] = ()
) -> list[dict[str, str]]:
    """Pydantic's error list as ``{"field", "reason"}`` items."""
    return [
        {"field": field_path([*prefix, *error["loc"]]), "reason": _reason(str(error["msg"]))}
        for error in errors
    ]
