"""session log: a dispute's reason (sealed), when it was said, why a log was closed

Revision ID: session_log_dispute_reason
Revises: measures_mbc
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import tandem.core.db
from alembic import op

revision: str = "session_log_dispute_reason"
down_revision: str | Sequence[str] | None = "measures_mbc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("disputed_at", tandem.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sealed_dispute_reason", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("sealed_dispute_reason")
        batch_op.drop_column("disputed_at")
