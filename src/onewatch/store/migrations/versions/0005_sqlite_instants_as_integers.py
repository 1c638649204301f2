"""SQLite: instants as integer microseconds since the epoch instead of text

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

``store.types.UTCDateTime`` now binds an integer on SQLite (8 bytes instead of 26, and
no text formatting or parsing on every hot statement). The columns keep their declared
DATETIME type: its NUMERIC affinity stores integers as integers, so nothing is rebuilt;
this rewrites the stored values. Each table is one UPDATE of all its instant columns, so
a CHECK comparing two of them (signing_secrets) only ever sees both converted.
PostgreSQL keeps ``timestamptz``: nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Every instant column as of 0004 (frozen here: later schema changes do not apply).
INSTANT_COLUMNS = {
    "actions": ("created_at", "updated_at"),
    "events": ("start_at", "end_at", "next_occurrence", "created_at", "updated_at"),
    "deliveries": (
        "scheduled_for",
        "next_attempt_at",
        "locked_until",
        "created_at",
        "updated_at",
        "finished_at",
        "redriven_at",
        "published_at",
    ),
    "delivery_attempts": ("started_at",),
    "signing_secrets": ("created_at", "expires_at"),
    "nodes": ("started_at", "heartbeat_at", "stopped_at"),
    "ui_link_uses": ("used_at", "expires_at"),
}

# The text form SQLAlchemy wrote: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, microseconds at 21).
_TO_MICROS = (
    "CASE WHEN typeof({c}) = 'text' THEN"
    " CAST(strftime('%s', {c}) AS INTEGER) * 1000000 + CAST(substr({c}, 21, 6) AS INTEGER)"
    " ELSE {c} END"
)
# Back to that text; the modulo is made non-negative so instants before 1970 work too.
_MICROS = "((({c} % 1000000) + 1000000) % 1000000)"
_TO_TEXT = (
    "CASE WHEN typeof({c}) = 'integer' THEN"
    " strftime('%Y-%m-%d %H:%M:%S', ({c} - " + _MICROS + ") / 1000000, 'unixepoch')"
    " || '.' || printf('%06d', " + _MICROS + ") ELSE {c} END"
)


def _rewrite(template: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in INSTANT_COLUMNS.items():
        assignments = ", ".join(f"{c} = {template.format(c=c)}" for c in columns)
        op.execute(f"UPDATE {table} SET {assignments}")


def upgrade() -> None:
    _rewrite(_TO_MICROS)


def downgrade() -> None:
    _rewrite(_TO_TEXT)
