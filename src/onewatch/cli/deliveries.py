"""``onewatch deliveries list|get|redrive``: what was sent, how it went, and sending again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from onewatch.cli.output import Column, show_items, show_one
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
from onewatch.cli.resource_commands import Limit, show_listing
from onewatch.client import Client
from onewatch.client.models import Delivery

deliveries_app = typer.Typer(
    help="Deliveries: each fire of an event and its attempts.", no_args_is_help=True
)

DeliveryId = Annotated[str, typer.Argument(metavar="ID", help="The delivery's id.")]


def _last(delivery: Delivery) -> str:
    return delivery.last_error or (str(delivery.last_status_code or "") or "-")


LIST_COLUMNS: list[Column] = [
    ("ID", lambda d: d.id),
    ("EVENT", lambda d: f"{d.service}/{d.event_key}"),
    ("KIND", lambda d: d.kind),
    ("SCHEDULED FOR (UTC)", lambda d: d.scheduled_for),
    ("STATUS", lambda d: d.status),
    ("ATTEMPTS", lambda d: d.attempt_count),
    ("LAST", _last),
]
DETAIL: list[Column] = [
    ("id", lambda d: d.id),
    ("event", lambda d: f"{d.service}/{d.event_key}"),
    ("kind", lambda d: d.kind),
    ("scheduled for", lambda d: d.scheduled_for),
    ("status", lambda d: d.status),
    ("attempts", lambda d: d.attempt_count),
    ("next attempt", lambda d: d.next_attempt_at),
    ("last status", lambda d: d.last_status_code),
    ("last error", lambda d: d.last_error),
    ("skip reason", lambda d: d.skip_reason),
    ("finished", lambda d: d.finished_at),
]
ATTEMPT_COLUMNS: list[Column] = [
    ("ATTEMPT", lambda a: a.attempt),
    ("STARTED (UTC)", lambda a: a.started_at),
    ("MS", lambda a: a.latency_ms),
    ("HTTP", lambda a: a.status_code),
    ("OUTCOME", lambda a: a.outcome),
    ("ERROR", lambda a: a.error),
]


@deliveries_app.command("list")
def list_deliveries(
    status: Annotated[
        str | None,
        typer.Option(help="pending, running, succeeded, retrying, dead, buffered or skipped."),
    ] = None,
    event: Annotated[
        str | None, typer.Option(metavar="KEY", help="Only this event's (KEY or SERVICE/KEY).")
    ] = None,
    limit: Limit = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """List deliveries, newest first."""
    owner, key = split_name(event, service) if event else (service, None)
    show_listing(
        Remote(url, token, service),
        lambda onewatch: onewatch.deliveries.list(service=owner, status=status, event=key),
        LIST_COLUMNS,
        limit,
        as_json,
    )


def _add_by_id(command: str, summary: str, call: Callable[[Client, str], Delivery]) -> None:
    """``deliveries COMMAND ID``: ``call(client, id)``, then the delivery and its attempts."""

    @deliveries_app.command(command, help=summary)
    def run(
        delivery_id: DeliveryId,
        url: Url = DEFAULT_URL,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        with reported(), Remote(url, token, None).client() as onewatch:
            delivery = call(onewatch, delivery_id)
            show_one(delivery, DETAIL, as_json)
            if not as_json and delivery.attempts:
                typer.echo()
                show_items(delivery.attempts, ATTEMPT_COLUMNS, as_json=False)


_add_by_id(
    "get",
    "Show one delivery and its attempts.",
    lambda onewatch, delivery_id: onewatch.deliveries.get(delivery_id),
)
_add_by_id(
    "redrive",
    "Send a dead delivery again with a fresh retry budget (exit 5 if it is not dead).",
    lambda onewatch, delivery_id: onewatch.deliveries.redrive(delivery_id),
)


def register(app: typer.Typer) -> None:
    """Add ``onewatch deliveries`` to ``app``."""
    app.add_typer(deliveries_app, name="deliveries")
