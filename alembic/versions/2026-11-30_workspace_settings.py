"""workspace settings

Each therapist's rules for the couples overview: after how many quiet days a couple is flagged,
and which shared check-in rating (at or beyond which value) needs attention. Numbers only.

Revision ID: workspace_settings
Revises: private_prep
Create Date: 2026-11-30 09:44:26.004656
"""

from collections.abc import Sequence

import sqlalchemy as sa

import tandem.core.db
from alembic import op

revision: str = "workspace_settings"
down_revision: str | Sequence[str] | None = "private_prep"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_setting",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("inactive_days", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=16), nullable=True),
        sa.Column("rating_direction", sa.String(length=16), nullable=False),
        sa.Column("rating_threshold", sa.Integer(), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_workspace_setting_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_workspace_setting")),
    )


def downgrade() -> None:
    op.drop_table("workspace_setting")
