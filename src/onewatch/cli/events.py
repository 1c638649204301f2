"""``onewatch events ...``: list, inspect, create, apply, pause, resume, trigger, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from onewatch.cli import apply
from onewatch.cli.deliveries import DETAIL as DELIVERY_DETAIL
from onewatch.cli.output import Column, as_data, first, say, show_items, show_one
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
from onewatch.client.models import Event

events_app = typer.Typer(help="Events: what to fire and when.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="KEY", help="KEY or SERVICE/KEY.")]


def _target(event: Event) -> str:
    if event.action:
        return f"action {event.action}"
    inline = event.webhook or event.graphql
    return f"{event.type} {inline.endpoint}" if inline else "-"


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
    ("id", lambda e: e.id),
    ("updated", lambda e: e.updated_at),
]


@events_app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="active, paused, completed or cancelled.")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only events using this action.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """List events (following every page), oldest first."""
    with reported(), Remote(url, token, service).client() as onewatch:
        found = onewatch.events.list(service=service, status=status, action=action)
        show_items(first(found, limit), LIST_COLUMNS, as_json)


@events_app.command("get")
def get_event(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Show one event."""
    owner, key = split_name(name, service)
    with reported(), Remote(url, token, service).client() as onewatch:
        show_one(onewatch.events.get(key, service=owner), DETAIL, as_json)


@events_app.command("create")
def create_event(
    file: apply.File,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Create one event from a YAML or JSON file; exit 5 if the key exists."""
    document = apply.one_document(file, "event")
    if service and "service" not in document:
        document["service"] = service
    with reported(), Remote(url, token, service).client() as onewatch:
        show_one(onewatch.events.create(document), DETAIL, as_json)


def _switch(name: str, command: str, remote: Remote, as_json: bool) -> None:
    owner, key = split_name(name, remote.service)
    with reported(), remote.client() as onewatch:
        switch = onewatch.events.pause if command == "pause" else onewatch.events.resume
        event = switch(key, service=owner)
    say(f"{event.service}/{event.key}: {event.status}", as_json, as_data(event))


@events_app.command("pause")
def pause_event(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Stop firing an event until it is resumed."""
    _switch(name, "pause", Remote(url, token, service), as_json)


@events_app.command("resume")
def resume_event(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Fire a paused event again, from now on (missed fires are not made up)."""
    _switch(name, "resume", Remote(url, token, service), as_json)


@events_app.command("trigger")
def trigger_event(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Fire an event once, now, outside its schedule; prints the new delivery."""
    owner, key = split_name(name, service)
    with reported(), Remote(url, token, service).client() as onewatch:
        delivery = onewatch.events.trigger(key, service=owner)
    show_one(delivery, DELIVERY_DETAIL, as_json)


@events_app.command("delete")
def delete_event(
    name: Name,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Delete an event (its delivery history goes with it)."""
    owner, key = split_name(name, service)
    with reported(), Remote(url, token, service).client() as onewatch:
        onewatch.events.delete(key, service=owner)
        shown = f"{owner or onewatch.service}/{key}"
    say(f"{shown}: deleted", as_json, {"deleted": shown})


def register(app: typer.Typer) -> None:
    """Add ``onewatch events`` to ``app``."""
    events_app.command("apply")(apply.apply_cmd)
    app.add_typer(events_app, name="events")
