"""``onewatch serve|migrate|token|import``: running and administering a node."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the server-side commands to ``app``."""
