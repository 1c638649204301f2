"""``onewatch actions ...``: list, inspect, create, apply and delete actions."""

from __future__ import annotations

from typing import Annotated

import typer

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
from onewatch.client.models import Action

actions_app = typer.Typer(help="Actions: how events call their targets.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="KEY", help="KEY or SERVICE/KEY.")]


def _endpoint(action: Action) -> str:
    target = action.webhook or action.graphql
    return target.endpoint if target else "-"


def _method(action: Action) -> str:
    return action.webhook.method if action.webhook else "POST"


LIST_COLUMNS: list[Column] = [
    ("SERVICE/KEY", lambda a: f"{a.service}/{a.key}"),
    ("TYPE", lambda a: a.type),
    ("METHOD", _method),
    ("ENDPOINT", _endpoint),
    ("UPDATED (UTC)", lambda a: a.updated_at),
]
DETAIL: list[Column] = [
    ("service", lambda a: a.service),
    ("key", lambda a: a.key),
    ("type", lambda a: a.type),
    ("method", _method),
    ("endpoint", _endpoint),
    ("headers", lambda a: a.webhook.headers if a.webhook else None),
    ("query", lambda a: a.graphql.query if a.graphql else None),
    ("payload", lambda a: a.payload),
    ("retry policy", lambda a: a.retry_policy),
    ("id", lambda a: a.id),
    ("updated", lambda a: a.updated_at),
]


@actions_app.command("list")
def list_actions(
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """List actions (following every page), oldest first."""
    with reported(), Remote(url, token, service).client() as onewatch:
        show_items(first(onewatch.actions.list(service=service), limit), LIST_COLUMNS, as_json)


@actions_app.command("get")
def get_action(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Show one action."""
    owner, key = split_name(name, service)
    with reported(), Remote(url, token, service).client() as onewatch:
        show_one(onewatch.actions.get(key, service=owner), DETAIL, as_json)


@actions_app.command("create")
def create_action(
    file: apply.File,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Create one action from a YAML or JSON file; exit 5 if the key exists."""
    document = apply.one_document(file, "action")
    if service and "service" not in document:
        document["service"] = service
    with reported(), Remote(url, token, service).client() as onewatch:
        show_one(onewatch.actions.create(document), DETAIL, as_json)


@actions_app.command("delete")
def delete_action(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Delete an action; exit 5 while events still use it."""
    owner, key = split_name(name, service)
    with reported(), Remote(url, token, service).client() as onewatch:
        onewatch.actions.delete(key, service=owner)
        shown = f"{owner or onewatch.service}/{key}"
    say(f"{shown}: deleted", as_json, {"deleted": shown})


def register(app: typer.Typer) -> None:
    """Add ``onewatch actions`` to ``app``."""
    actions_app.command("apply")(apply.apply_cmd)
    app.add_typer(actions_app, name="actions")
