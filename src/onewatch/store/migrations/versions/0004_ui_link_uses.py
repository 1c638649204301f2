"""ui_link_uses: one-time dashboard sign-in links already used

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onewatch.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_link_uses",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_ui_link_uses")),
    )
    with op.batch_alter_table("ui_link_uses", schema=None) as batch_op:
        batch_op.create_index("ix_ui_link_uses_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ui_link_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_ui_link_uses_expires_at")
    op.drop_table("ui_link_uses")
