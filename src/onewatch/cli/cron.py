"""``onewatch cron``: explain a pattern and list its next fires, in the zone and in UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from onewatch.clock import SystemClock
from onewatch.domain.schedule import (
    InvalidPattern,
    ScheduleSpec,
    compile_schedule,
    describe_pattern,
    parse_pattern,
)

_MAX_COUNT = 1000


def register(app: typer.Typer) -> None:
    """Add the ``cron`` command to ``app``."""
    app.command("cron")(cron)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= _MAX_COUNT:
        raise InvalidPattern(f"must be a whole number 1-{_MAX_COUNT}, got {text!r}", field="count")
    return int(text)


def _after(text: str | None, zone: str) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidPattern(f"{text!r} is not an ISO-8601 date-time", field="after") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


def _report(pattern: str, tz: str | None, after: str | None, count: str) -> dict[str, Any]:
    zone = tz or parse_pattern(pattern).zone or "UTC"
    schedule = compile_schedule(ScheduleSpec(pattern, zone))
    zone = schedule.spec.timezone
    start = _after(after, zone)
    fires = schedule.upcoming(start, 0, _count(count))
    local = ZoneInfo(zone)
    return {
        "pattern": pattern,
        "timezone": zone,
        "description": describe_pattern(pattern),
        "after": start.astimezone(UTC).isoformat(),
        "fires": [
            {"local": fire.astimezone(local).isoformat(), "utc": fire.astimezone(UTC).isoformat()}
            for fire in fires
        ],
    }


def _print_text(report: dict[str, Any]) -> None:
    typer.echo(f"{report['pattern']}: {report['description']}")
    typer.echo(f"time zone: {report['timezone']}")
    if not report["fires"]:
        typer.echo("no fires after " + report["after"])
    for fire in report["fires"]:
        typer.echo(f"  {fire['local']:<32}  {fire['utc']}")


def cron(
    pattern: Annotated[str, typer.Argument(help="Cron pattern, descriptor, @every or instant.")],
    tz: Annotated[str | None, typer.Option("--tz", help="IANA zone (default: UTC).")] = None,
    after: Annotated[
        str | None, typer.Option("--after", help="ISO instant (default: now).")
    ] = None,
    count: Annotated[str, typer.Option("--count", metavar="N", help="How many fires.")] = "5",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Explain a schedule pattern and list its next fire times."""
    try:
        report = _report(pattern, tz, after, count)
    except InvalidPattern as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_text(report)
