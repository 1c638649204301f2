"""Opaque keyset cursors and who may list what."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping

from onewatch.errors import Forbidden, ValidationFailed
from onewatch.security.tokens import Principal

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Ids are 64-bit (``BIGINT``); a cursor past that would fail in the database instead.
MAX_ID = 2**63 - 1


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a page starts after; a cursor this server did not make is a 422."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "id" and number.isascii() and number.isdigit() and int(number) <= MAX_ID:
            return int(number)
    except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8
        pass
    raise ValidationFailed("not a cursor from a previous page's nextCursor", field="cursor")


def split_page(rows: Sequence[RowMapping], limit: int) -> tuple[list[RowMapping], str | None]:
    """The page in ``limit + 1`` rows, and the cursor after it when the extra row exists."""
    shown = list(rows[:limit])
    more = len(rows) > limit and bool(shown)
    return shown, encode_cursor(shown[-1]["id"]) if more else None


def page(rows: Sequence[RowMapping], limit: int, render: Any) -> dict[str, Any]:
    """``{"items", "nextCursor"}`` from ``limit + 1`` rows (the extra one says there is more)."""
    shown, next_cursor = split_page(rows, limit)
    return {"items": [render(row) for row in shown], "nextCursor": next_cursor}


def listing_scope(principal: Principal, service: str | None) -> str | None:
    """The service a listing is narrowed to: the caller's own unless it is an admin."""
    if service is None:
        return None if principal.admin else principal.service
    if not principal.may_act_for(service):
        raise Forbidden(f"this token may not list service {service!r}", field="service")
    return service
