"""``onewatch cron``: explain a pattern and list its next fires (schedule engine issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``cron`` command to ``app``."""
