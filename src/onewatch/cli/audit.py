"""``onewatch audit list``: who changed which action, event, calendar or signing secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from onewatch.cli.output import Column
from onewatch.cli.remote import (
    DEFAULT_URL,
    AsJson,
    ExitCode,
    Remote,
    Service,
    Token,
    Url,
    fail,
)
from onewatch.cli.resource_commands import Limit, show_listing
from onewatch.client.models import AuditResourceType

audit_app = typer.Typer(
    help="The audit log: every change to actions, events, calendars and signing secrets.",
    no_args_is_help=True,
)

LIST_COLUMNS: list[Column] = [
    ("WHEN (UTC)", lambda e: e.at),
    ("SUBJECT", lambda e: e.actor.subject),
    ("VIA", lambda e: e.actor.via),
    ("ACTION", lambda e: e.action),
    ("KIND", lambda e: e.resource_type),
    ("SERVICE/KEY", lambda e: f"{e.service}/{e.key}"),
]


def _instant(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 instant or date; one without a time zone is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            f"{option}: {value!r} is not an ISO-8601 instant (e.g. 2030-01-01T00:00:00Z)",
            ExitCode.USAGE,
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Instant = Annotated[
    str | None,
    typer.Option(
        metavar="INSTANT",
        help="ISO-8601 instant or date (UTC unless it names a zone).",
    ),
]
KIND_HELP = "Only this kind of item: action, event, calendar or signing_secret."


@audit_app.command("list")
def list_audit(
    kind: Annotated[
        AuditResourceType | None, typer.Option("--kind", metavar="KIND", help=KIND_HELP)
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Only the entries of the items with this key.")
    ] = None,
    since: Instant = None,
    until: Instant = None,
    limit: Limit = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """List audit entries, newest first: at or after --since, before --until."""
    start, end = _instant(since, "--since"), _instant(until, "--until")
    show_listing(
        Remote(url, token, service),
        lambda onewatch: onewatch.audit.list(
            service=service, resource_type=kind, key=key, since=start, until=end
        ),
        LIST_COLUMNS,
        limit,
        as_json,
    )


def register(app: typer.Typer) -> None:
    """Add ``onewatch audit`` to ``app``."""
    app.add_typer(audit_app, name="audit")
