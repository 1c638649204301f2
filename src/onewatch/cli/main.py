"""The ``onewatch`` command: each module in this package registers its own commands."""

from __future__ import annotations

import typer

from onewatch.cli import actions, cron, deliveries, events, server, ui_link

app = typer.Typer(
    name="onewatch",
    help="Onewatch: one scheduler service that calls every other service at the right time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Onewatch: one scheduler service that calls every other service at the right time."""
    # A callback keeps ``onewatch`` a command group even while it has a single command.


for module in (cron, server, ui_link, events, actions, deliveries):
    module.register(app)


def main() -> None:
    app()
