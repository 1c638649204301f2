"""The ``onewatch`` command: each module in this package registers its own commands."""

from __future__ import annotations

from typing import Annotated

import typer

from onewatch import __version__
from onewatch.cli import actions, audit, calendars, cron, deliveries, events, server, ui_link

app = typer.Typer(
    name="onewatch",
    help="Onewatch: one scheduler service that calls every other service at the right time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"onewatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Onewatch: one scheduler service that calls every other service at the right time."""
    # A callback keeps ``onewatch`` a command group even while it has a single command.


for module in (cron, server, ui_link, events, actions, calendars, deliveries, audit):
    module.register(app)


def main() -> None:
    app()
