"""signing secrets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onewatch.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_secrets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "expires_at IS NULL OR expires_at >= created_at",
            name=op.f("ck_signing_secrets_expiry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_secrets")),
    )
    with op.batch_alter_table("signing_secrets", schema=None) as batch_op:
        batch_op.create_index("ix_signing_secrets_service", ["service", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_secrets", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_secrets_service")
    op.drop_table("signing_secrets")
