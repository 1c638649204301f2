"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from onewatch.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column(
            "target",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "retry_policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("type IN ('webhook', 'graphql')", name=op.f("ck_actions_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("service", "key", name=op.f("uq_actions_service_key")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("action_key", sa.String(length=200), nullable=True),
        sa.Column("target_type", sa.String(length=16), nullable=True),
        sa.Column(
            "target",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("pattern", sa.String(length=300), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("separation", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("max_occurrences", sa.Integer(), nullable=True),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("end_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_occurrence", UTCDateTime(), nullable=True),
        sa.Column("occurrences", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "retry_policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "misfire_policy",
            sa.String(length=16),
            server_default=sa.text("'fire_once'"),
            nullable=False,
        ),
        sa.Column(
            "misfire_grace_seconds", sa.Integer(), server_default=sa.text("60"), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "misfire_policy IN ('fire_once', 'fire_all', 'skip')",
            name=op.f("ck_events_misfire_policy"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'completed', 'cancelled')",
            name=op.f("ck_events_status"),
        ),
        sa.CheckConstraint(
            "target_type IS NULL OR target_type IN ('webhook', 'graphql')",
            name=op.f("ck_events_target_type"),
        ),
        sa.CheckConstraint(
            "(action_key IS NOT NULL AND target IS NULL AND target_type IS NULL) OR (action_key IS NULL AND target IS NOT NULL AND target_type IS NOT NULL)",
            name=op.f("ck_events_action_or_target"),
        ),
        sa.CheckConstraint(
            "max_occurrences IS NULL OR max_occurrences >= 1",
            name=op.f("ck_events_max_occurrences"),
        ),
        sa.CheckConstraint("occurrences >= 0", name=op.f("ck_events_occurrences")),
        sa.CheckConstraint("separation >= 1", name=op.f("ck_events_separation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("service", "key", name=op.f("uq_events_service_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_due",
            ["next_occurrence"],
            unique=False,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index("ix_events_service_action", ["service", "action_key"], unique=False)
        batch_op.create_index("ix_events_service_status", ["service", "status", "id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column(
            "kind", sa.String(length=16), server_default=sa.text("'scheduled'"), nullable=False
        ),
        sa.Column("scheduled_for", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("attempt_base", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("redriven_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('scheduled', 'manual')", name=op.f("ck_deliveries_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'retrying', 'dead')",
            name=op.f("ck_deliveries_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "event_id",
            "kind",
            "scheduled_for",
            name=op.f("uq_deliveries_event_id_kind_scheduled_for"),
        ),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_event", ["event_id", "scheduled_for"], unique=False)
        batch_op.create_index("ix_deliveries_finished", ["finished_at"], unique=False)
        batch_op.create_index(
            "ix_deliveries_ready",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'retrying')"),
            postgresql_where=sa.text("status IN ('pending', 'retrying')"),
        )
        batch_op.create_index(
            "ix_deliveries_running",
            ["locked_until"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.create_index(
            "ix_deliveries_service_status", ["service", "status", "id"], unique=False
        )

    op.create_table(
        "delivery_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('succeeded', 'failed', 'abandoned')",
            name=op.f("ck_delivery_attempts_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sa.UniqueConstraint(
            "delivery_id", "attempt", name=op.f("uq_delivery_attempts_delivery_id_attempt")
        ),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_service_status")
        batch_op.drop_index(
            "ix_deliveries_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index(
            "ix_deliveries_ready",
            sqlite_where=sa.text("status IN ('pending', 'retrying')"),
            postgresql_where=sa.text("status IN ('pending', 'retrying')"),
        )
        batch_op.drop_index("ix_deliveries_finished")
        batch_op.drop_index("ix_deliveries_event")

    op.drop_table("deliveries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_service_status")
        batch_op.drop_index("ix_events_service_action")
        batch_op.drop_index(
            "ix_events_due",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("events")
    op.drop_table("actions")
