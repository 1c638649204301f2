"""``onewatch calendars ...``: list, inspect, create, apply and delete business calendars."""

from __future__ import annotations

from datetime import date

import typer

from onewatch.cli import apply
from onewatch.cli.output import Column
from onewatch.cli.resource_commands import Kind, add_create, add_delete, add_get, add_list
from onewatch.client.models import Calendar

calendars_app = typer.Typer(
    help="Calendars: which days count as business days for events.", no_args_is_help=True
)


def _holidays(calendar: Calendar) -> str | None:
    """``BR``, ``BR-SP``: whose public holidays are days off."""
    rules = calendar.holidays
    if rules is None:
        return None
    return f"{rules.country}-{rules.subdivision}" if rules.subdivision else rules.country


def _weekend(calendar: Calendar) -> str:
    return ",".join(calendar.weekend) or "-"


def _days(days: list[date]) -> str:
    return ", ".join(day.isoformat() for day in days)


LIST_COLUMNS: list[Column] = [
    ("SERVICE/KEY", lambda c: f"{c.service}/{c.key}"),
    ("HOLIDAYS", _holidays),
    ("WEEKEND", _weekend),
    ("EXCLUDED", lambda c: len(c.exclude)),
    ("INCLUDED", lambda c: len(c.include)),
    ("UPDATED (UTC)", lambda c: c.updated_at),
]
DETAIL: list[Column] = [
    ("service", lambda c: c.service),
    ("key", lambda c: c.key),
    ("holidays", _holidays),
    ("weekend", _weekend),
    ("exclude", lambda c: _days(c.exclude)),
    ("include", lambda c: _days(c.include)),
    ("id", lambda c: c.id),
    ("updated", lambda c: c.updated_at),
]

CALENDARS = Kind("calendar", lambda onewatch: onewatch.calendars, DETAIL)

add_list(calendars_app, CALENDARS, LIST_COLUMNS, "List calendars (every page), oldest first.")
add_get(calendars_app, CALENDARS)
add_create(calendars_app, CALENDARS)
add_delete(calendars_app, CALENDARS, "Delete a calendar; exit 5 while events follow it.")


def register(app: typer.Typer) -> None:
    """Add ``onewatch calendars`` to ``app``."""
    calendars_app.command("apply")(apply.apply_cmd)
    app.add_typer(calendars_app, name="calendars")
