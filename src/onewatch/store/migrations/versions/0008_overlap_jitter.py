"""events.overlap and events.jitter_seconds; deliveries.skip_reason and two new statuses

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03

An event's overlap policy (``allow``, ``skip``, ``buffer_one``) and its jitter; a delivery
may now be ``buffered`` (waiting behind the event's unfinished one) or ``skipped`` (never
sent, ``skip_reason`` says why). Widening the status check means rebuilding the table
on SQLite: ``store.migrate`` runs SQLite migrations with foreign keys off, so dropping
the old ``deliveries`` does not cascade into ``delivery_attempts``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_STATUSES = "status IN ('pending', 'running', 'succeeded', 'retrying', 'dead')"
_NEW_STATUSES = (
    "status IN ('pending', 'running', 'succeeded', 'retrying', 'dead', 'buffered', 'skipped')"
)
_SKIP_REASON = (
    "(status = 'skipped' AND skip_reason IS NOT NULL)"
    " OR (status <> 'skipped' AND skip_reason IS NULL)"
)


def _add_event_columns() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overlap", sa.String(16), server_default=sa.text("'allow'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("jitter_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint("overlap", "overlap IN ('allow', 'skip', 'buffer_one')")
        batch_op.create_check_constraint(
            "jitter_seconds", "jitter_seconds >= 0 AND jitter_seconds <= 86400"
        )


def upgrade() -> None:
    _add_event_columns()
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_deliveries_status"), type_="check")
        batch_op.create_check_constraint("status", _NEW_STATUSES)
        batch_op.create_check_constraint("skip_reason", _SKIP_REASON)
        batch_op.create_index(
            "ix_deliveries_buffered",
            ["event_id"],
            unique=False,
            sqlite_where=sa.text("status = 'buffered'"),
            postgresql_where=sa.text("status = 'buffered'"),
        )


def downgrade() -> None:
    # Skipped deliveries were never sent and buffered ones not yet: neither can be told
    # apart from the statuses before 0008, so both go (a buffered one is lost: downgrade
    # only with the scheduler and dispatchers stopped).
    op.execute("DELETE FROM deliveries WHERE status IN ('buffered', 'skipped')")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_buffered")
        batch_op.drop_constraint(op.f("ck_deliveries_skip_reason"), type_="check")
        batch_op.drop_constraint(op.f("ck_deliveries_status"), type_="check")
        batch_op.create_check_constraint("status", _OLD_STATUSES)
        batch_op.drop_column("skip_reason")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_events_jitter_seconds"), type_="check")
        batch_op.drop_constraint(op.f("ck_events_overlap"), type_="check")
        batch_op.drop_column("jitter_seconds")
        batch_op.drop_column("overlap")
