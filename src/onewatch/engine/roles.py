"""The background roles a node can run beside the API, by name."""

from __future__ import annotations

from onewatch.runtime import RoleRunner


def background_roles() -> dict[str, RoleRunner]:
    """Role name -> runner; ``Runtime.start`` runs those the settings enable."""
    return {}
