"""``onewatch events ...``: list, inspect, create, apply, pause, resume, trigger, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from onewatch.cli import apply
from onewatch.cli.deliveries import DETAIL as DELIVERY_DETAIL
from onewatch.cli.output import Column, as_data, say, show_one
from onewatch.cli.remote import DEFAULT_URL, AsJson, Remote, Service, Token, Url
from onewatch.cli.resource_commands import (
    Kind,
    Limit,
    add_create,
    add_delete,
    add_get,
    add_key_command,
    show_listing,
)
from onewatch.client.models import Event, destination_of

events_app = typer.Typer(help="Events: what to fire and when.", no_args_is_help=True)


def _target(event: Event) -> str:
    if event.action:
        return f"action {event.action}"
    destination = destination_of(event)
    return f"{event.type} {destination}" if destination else "-"


LIST_COLUMNS: list[Column] = [
    ("SERVICE/KEY", lambda e: f"{e.service}/{e.key}"),
    ("STATUS", lambda e: e.status),
    ("PATTERN", lambda e: e.scheduling_pattern.pattern),
    ("TIMEZONE", lambda e: e.scheduling_pattern.timezone),
    ("NEXT (UTC)", lambda e: e.next_occurrence),
    ("FIRED", lambda e: e.occurrences),
    ("TARGET", _target),
]
DETAIL: list[Column] = [
    ("service", lambda e: e.service),
    ("key", lambda e: e.key),
    ("title", lambda e: e.title),
    ("status", lambda e: e.status),
    ("target", _target),
    ("pattern", lambda e: e.scheduling_pattern.pattern),
    ("timezone", lambda e: e.scheduling_pattern.timezone),
    ("next (UTC)", lambda e: e.next_occurrence),
    ("fired", lambda e: e.occurrences),
    ("max fires", lambda e: e.scheduling_pattern.max_occurrences),
    ("params", lambda e: e.params),
    ("retry policy", lambda e: e.retry_policy),
    ("misfire policy", lambda e: e.misfire_policy),
    ("overlap", lambda e: e.overlap),
    ("jitter (s)", lambda e: e.scheduling_pattern.jitter_seconds),
    ("id", lambda e: e.id),
    ("updated", lambda e: e.updated_at),
]


EVENTS = Kind("event", lambda onewatch: onewatch.events, DETAIL)


@events_app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="active, paused, completed or cancelled.")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only events using this action.")] = None,
    limit: Limit = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """List events (following every page), oldest first."""
    show_listing(
        Remote(url, token, service),
        lambda onewatch: onewatch.events.list(service=service, status=status, action=action),
        LIST_COLUMNS,
        limit,
        as_json,
    )


def _show_status(event: Event, as_json: bool) -> None:
    say(f"{event.service}/{event.key}: {event.status}", as_json, as_data(event))


add_get(events_app, EVENTS)
add_create(events_app, EVENTS)
add_key_command(
    events_app,
    "pause",
    "Stop firing an event until it is resumed.",
    lambda onewatch, owner, key: onewatch.events.pause(key, service=owner),
    _show_status,
)
add_key_command(
    events_app,
    "resume",
    "Fire a paused event again, from now on (missed fires are not made up).",
    lambda onewatch, owner, key: onewatch.events.resume(key, service=owner),
    _show_status,
)
add_key_command(
    events_app,
    "trigger",
    "Fire an event once, now, outside its schedule; prints the new delivery.",
    lambda onewatch, owner, key: onewatch.events.trigger(key, service=owner),
    lambda delivery, as_json: show_one(delivery, DELIVERY_DETAIL, as_json),
)
add_delete(events_app, EVENTS, "Delete an event (its delivery history goes with it).")


def register(app: typer.Typer) -> None:
    """Add ``onewatch events`` to ``app``."""
    events_app.command("apply")(apply.apply_cmd)
    app.add_typer(events_app, name="events")
