"""The one error type of the schedule engine."""

from __future__ import annotations


class InvalidPattern(ValueError):
    """A schedule that cannot be used.

    ``field`` names the part at fault in the API's camelCase (``pattern``, ``timezone``,
    ``separation``, ``maxOccurrences``, ``startAt``, ``endAt``) so a client can point at
    the input to fix; ``reason`` says why in plain words.
    """

    def __init__(self, reason: str, *, field: str = "pattern") -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
