"""The command shapes ``onewatch actions``, ``events``, ``calendars`` and ``deliveries`` share,
written once.

Actions, events and calendars are all addressed as ``KEY`` or ``SERVICE/KEY`` and are
listed, shown, created from a file and deleted the same way: a ``Kind`` says which of the
client's resources a command calls and which fields it prints. The server flags are
declared on every command (not on its group) so that they follow the command's name:
``onewatch events list --url X --json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel

from onewatch.cli import apply
from onewatch.cli.output import Column, first, say, show_items, show_one
from onewatch.cli.remote import (
    DEFAULT_URL,
    AsJson,
    Remote,
    Service,
    Token,
    Url,
    reported,
    split_name,
)
from onewatch.client import Client
from onewatch.client.sync import Actions, Calendars, Events

T = TypeVar("T")

Name = Annotated[str, typer.Argument(metavar="KEY", help="KEY or SERVICE/KEY.")]
Limit = Annotated[int | None, typer.Option(min=1, help="Show at most this many.")]


@dataclass(frozen=True)
class Kind:
    """One kind of keyed item: its noun in help texts, where the client keeps it, its fields."""

    noun: str
    of: Callable[[Client], Actions | Calendars | Events]
    detail: Sequence[Column]


def show_listing(
    remote: Remote,
    items: Callable[[Client], Iterable[BaseModel]],
    columns: Sequence[Column],
    limit: int | None,
    as_json: bool,
) -> None:
    """Print the first ``limit`` of ``items(client)`` as a table (or JSON)."""
    with reported(), remote.client() as onewatch:
        show_items(first(items(onewatch), limit), columns, as_json)


def add_list(group: typer.Typer, kind: Kind, columns: Sequence[Column], summary: str) -> None:
    """``list [--limit N]``: every item of the kind (every page), as ``columns`` say."""

    @group.command("list", help=summary)
    def run(
        limit: Limit = None,
        url: Url = DEFAULT_URL,
        token: Token = None,
        service: Service = None,
        as_json: AsJson = False,
    ) -> None:
        show_listing(
            Remote(url, token, service),
            lambda onewatch: kind.of(onewatch).list(service=service),
            columns,
            limit,
            as_json,
        )


def add_key_command(
    group: typer.Typer,
    command: str,
    summary: str,
    call: Callable[[Client, str | None, str], T],
    show: Callable[[T, bool], None],
) -> None:
    """``onewatch GROUP COMMAND KEY``: ``call(client, service, key)``, then ``show`` its answer."""

    @group.command(command, help=summary)
    def run(
        name: Name,
        url: Url = DEFAULT_URL,
        token: Token = None,
        service: Service = None,
        as_json: AsJson = False,
    ) -> None:
        owner, key = split_name(name, service)
        with reported(), Remote(url, token, service).client() as onewatch:
            answer = call(onewatch, owner, key)
        show(answer, as_json)


def add_get(group: typer.Typer, kind: Kind) -> None:
    """``get KEY``: one item's fields."""
    add_key_command(
        group,
        "get",
        f"Show one {kind.noun}.",
        lambda onewatch, owner, key: kind.of(onewatch).get(key, service=owner),
        lambda item, as_json: show_one(item, kind.detail, as_json),
    )


def add_create(group: typer.Typer, kind: Kind) -> None:
    """``create -f FILE``: one new item from a one-document file."""

    @group.command(
        "create", help=f"Create one {kind.noun} from a YAML or JSON file; exit 5 if the key exists."
    )
    def create(
        file: apply.File,
        url: Url = DEFAULT_URL,
        token: Token = None,
        service: Service = None,
        as_json: AsJson = False,
    ) -> None:
        document = apply.one_document(file, kind.noun)
        if service and "service" not in document:
            document["service"] = service
        with reported(), Remote(url, token, service).client() as onewatch:
            show_one(kind.of(onewatch).create(document), kind.detail, as_json)


def _deleted(onewatch: Client, kind: Kind, owner: str | None, key: str) -> str:
    kind.of(onewatch).delete(key, service=owner)
    return f"{owner or onewatch.service}/{key}"


def add_delete(group: typer.Typer, kind: Kind, summary: str) -> None:
    """``delete KEY``: prints ``SERVICE/KEY: deleted``."""
    add_key_command(
        group,
        "delete",
        summary,
        lambda onewatch, owner, key: _deleted(onewatch, kind, owner, key),
        lambda shown, as_json: say(f"{shown}: deleted", as_json, {"deleted": shown}),
    )
