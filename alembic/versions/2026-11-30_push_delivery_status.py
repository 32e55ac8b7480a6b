"""push delivery status

When the last push to a device failed, so the person can be told the truth about their own
device ("the last notification did not get through") even after the app re-registers it, which
resets the failure count.

Revision ID: push_delivery_status
Revises: workspace_settings
Create Date: 2026-11-30 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import tandem.core.db
from alembic import op

revision: str = "push_delivery_status"
down_revision: str | Sequence[str] | None = "workspace_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_subscription") as batch:
        batch.add_column(
            sa.Column("last_failure_at", tandem.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("push_subscription") as batch:
        batch.drop_column("last_failure_at")
