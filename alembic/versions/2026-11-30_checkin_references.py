"""Check-ins refer to plan items and session logs by foreign key (ON DELETE SET NULL)

References that already point nowhere (a draft item deleted before this revision) are cleared
first, so the constraints can be added.

Revision ID: checkin_references
Revises: practice_times
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "checkin_references"
down_revision: str | Sequence[str] | None = "practice_times"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("private_checkin", "shared_checkin")
REFERENCES = (("plan_item_id", "plan_item"), ("session_id", "session_log"))


def upgrade() -> None:
    for table in TABLES:
        for column, target in REFERENCES:
            op.execute(
                f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL "  # noqa: S608
                f"AND {column} NOT IN (SELECT id FROM {target})"
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, target in REFERENCES:
                batch_op.create_foreign_key(
                    batch_op.f(f"fk_{table}_{column}_{target}"),
                    target,
                    [column],
                    ["id"],
                    ondelete="SET NULL",
                )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, target in REFERENCES:
                batch_op.drop_constraint(
                    batch_op.f(f"fk_{table}_{column}_{target}"), type_="foreignkey"
                )
