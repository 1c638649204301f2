"""actions.type and events.target_type also allow 'lambda' and 'sqs' (AWS targets)

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03

The targets themselves live in the existing JSON ``target`` columns; only the two CHECK
constraints that list the target kinds change. PostgreSQL drops and adds each one.
SQLite cannot alter a constraint, and rebuilding ``events`` the usual way (a new table,
copy, drop, rename) would cascade-delete every delivery: foreign keys are on and
cannot be switched off inside the migration's transaction. A widened CHECK changes
nothing stored, so SQLite takes SQLite's own procedure for such changes ("Making Other
Kinds Of Table Schema Changes", lang_altertable.html): edit the table's SQL text in
``sqlite_schema`` and bump ``schema_version``, in the same transaction.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: Frozen here: later changes of the kinds need a migration of their own.
OLD_KINDS = "'webhook', 'graphql'"
NEW_KINDS = "'webhook', 'graphql', 'lambda', 'sqs'"
#: (table, constraint, the condition with ``{kinds}``), as 0001 created them.
CHECKS = (
    ("actions", "ck_actions_type", "type IN ({kinds})"),
    ("events", "ck_events_target_type", "target_type IS NULL OR target_type IN ({kinds})"),
)


def _sqlite_set_kinds(old: str, new: str) -> None:
    bind = op.get_bind()
    version = bind.execute(text("PRAGMA schema_version")).scalar_one()
    bind.execute(text("PRAGMA writable_schema = ON"))
    for table, _name, condition in CHECKS:
        before, after = condition.format(kinds=old), condition.format(kinds=new)
        changed = bind.execute(
            text(
                "UPDATE sqlite_master SET sql = replace(sql, :before, :after)"
                " WHERE type = 'table' AND name = :table AND instr(sql, :before) > 0"
            ),
            {"before": before, "after": after, "table": table},
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"{table}: CHECK ({before}) not found; the schema is not 0006's")
    bind.execute(text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(text("PRAGMA writable_schema = OFF"))


def _postgres_set_kinds(kinds: str) -> None:
    for table, name, condition in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, condition.format(kinds=kinds))


def _set_kinds(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_kinds(old, new)
    else:
        _postgres_set_kinds(new)


def upgrade() -> None:
    _set_kinds(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    used = op.get_bind().execute(
        text(
            "SELECT (SELECT count(*) FROM actions WHERE type IN ('lambda', 'sqs'))"
            " + (SELECT count(*) FROM events WHERE target_type IN ('lambda', 'sqs'))"
        )
    )
    if used.scalar_one():
        raise RuntimeError("Lambda or SQS targets are stored: delete them before downgrading")
    _set_kinds(NEW_KINDS, OLD_KINDS)
