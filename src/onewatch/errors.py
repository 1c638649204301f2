"""The exception family that the API and the CLI turn into one clear message each.

Every error names *what* is wrong (``field``, a dotted path such as
``schedulingPattern.timezone``) and *why* (``reason``), so a client can point at the
input it must fix. Nothing here knows HTTP: the API maps each type to a status code.
"""

from __future__ import annotations


class OnewatchError(Exception):
    """Base of every error Onewatch reports to a user."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


class ValidationFailed(OnewatchError):
    """Input that breaks a rule; nothing was stored."""


class NotFound(OnewatchError):
    """The item does not exist, or belongs to a service the caller may not see."""


class Conflict(OnewatchError):
    """The item exists already, or changed under the caller's feet."""


class InUse(Conflict):
    """The item cannot go while others depend on it; ``users`` names some of them."""

    def __init__(self, reason: str, *, users: list[str], user_count: int) -> None:
        super().__init__(reason)
        self.users = users
        self.user_count = user_count


class Forbidden(OnewatchError):
    """The caller is known but may not do this."""


class Unauthorized(OnewatchError):
    """The caller could not be identified (missing, invalid or expired token)."""


class TooManyRequests(OnewatchError):
    """The caller is over a rate quota; ``retry_after_seconds`` says when to come back."""

    def __init__(self, reason: str, *, retry_after_seconds: int, field: str | None = None):
        super().__init__(reason, field=field)
        self.retry_after_seconds = retry_after_seconds


class ConfigurationError(OnewatchError):
    """Settings that would make the service unsafe or unable to start."""


class StoreUnavailable(OnewatchError):
    """The database cannot be reached (refused, lost, locked past its wait); nothing was
    changed, and the same request may succeed after ``retry_after_seconds``."""

    def __init__(self, reason: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


class StorageFull(StoreUnavailable):
    """The database refused a write for lack of space; what is stored is intact, and
    writes work again once an operator frees space."""
