"""Printing answers: rich tables for people, JSON (the API's own camelCase) for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

M = TypeVar("M", bound=BaseModel)

#: One column: its heading and how to read it from an item.
Column = tuple[str, Callable[[Any], object]]


#: Width when the output is not a terminal: wide enough that no row wraps, so ``grep``
#: and ``awk`` see one line per item.
PIPE_WIDTH = 1000


def console() -> Console:
    width = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=width)


def as_data(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def cell(value: object) -> str:
    """A value as table text: instants in UTC to the second, nothing as ``-``."""
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + "Z"
    if isinstance(value, BaseModel):
        return json.dumps(as_data(value), ensure_ascii=False)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def show_items(items: Iterable[M], columns: Sequence[Column], as_json: bool) -> int:
    """A listing as one table (or a JSON array); returns how many items there were."""
    shown = list(items)
    if as_json:
        print_json([as_data(item) for item in shown])
        return len(shown)
    table = Table(*(heading for heading, _read in columns), box=None, pad_edge=False)
    for item in shown:
        table.add_row(*(cell(read(item)) for _heading, read in columns), end_section=False)
    console().print(table if shown else "(none)")
    return len(shown)


def show_one(item: BaseModel, fields: Sequence[Column], as_json: bool) -> None:
    """One item: its fields, one per line (or the JSON document)."""
    if as_json:
        print_json(as_data(item))
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for heading, read in fields:
        table.add_row(heading, cell(read(item)))
    console().print(table)


def say(message: str, as_json: bool, data: Any = None) -> None:
    """A one-line outcome for people, or ``data`` as JSON for scripts."""
    if as_json:
        print_json(data)
    else:
        console().print(message, markup=False)


def first(items: Iterable[M], limit: int | None) -> list[M]:
    """At most ``limit`` items (all when ``None``), fetching no page beyond them."""
    return list(items if limit is None else islice(items, limit))
