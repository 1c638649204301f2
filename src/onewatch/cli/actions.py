"""``onewatch actions ...``: list, inspect, create, apply and delete actions."""

from __future__ import annotations

import typer

from onewatch.cli import apply
from onewatch.cli.output import Column
from onewatch.cli.resource_commands import (
    Kind,
    add_create,
    add_delete,
    add_get,
    add_list,
)
from onewatch.client.models import Action, destination_of

actions_app = typer.Typer(help="Actions: how events call their targets.", no_args_is_help=True)


def _endpoint(action: Action) -> str:
    return destination_of(action) or "-"


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


ACTIONS = Kind("action", lambda onewatch: onewatch.actions, DETAIL)


add_list(actions_app, ACTIONS, LIST_COLUMNS, "List actions (following every page), oldest first.")
add_get(actions_app, ACTIONS)
add_create(actions_app, ACTIONS)
add_delete(actions_app, ACTIONS, "Delete an action; exit 5 while events still use it.")


def register(app: typer.Typer) -> None:
    """Add ``onewatch actions`` to ``app``."""
    actions_app.command("apply")(apply.apply_cmd)
    app.add_typer(actions_app, name="actions")
