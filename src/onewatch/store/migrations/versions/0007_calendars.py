"""business calendars, and the calendar columns of events

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Plain column additions to ``events`` (no constraint): on SQLite anything more rebuilds the
table, and dropping the old one would cascade to ``deliveries``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from onewatch.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rules", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("service", "key", name=op.f("uq_calendars_service_key")),
    )
    op.add_column("events", sa.Column("calendar_key", sa.String(length=200), nullable=True))
    op.add_column("events", sa.Column("calendar_rules", _JSON, nullable=True))
    op.add_column("events", sa.Column("non_business_day", sa.String(length=16), nullable=True))
    op.add_column("events", sa.Column("business_day", sa.Integer(), nullable=True))
    op.create_index("ix_events_service_calendar", "events", ["service", "calendar_key"])


def downgrade() -> None:
    op.drop_index("ix_events_service_calendar", table_name="events")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild: see the docstring.
    for column in ("business_day", "non_business_day", "calendar_rules", "calendar_key"):
        op.execute(f"ALTER TABLE events DROP COLUMN {column}")
    op.drop_table("calendars")
