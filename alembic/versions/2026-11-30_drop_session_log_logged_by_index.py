"""drop the session log's own index on logged_by

The unique index on (logged_by, client_id) leads with logged_by, so it already serves every
lookup by author and the cascade from a deleted account; the second index only cost each
practice log one more page to write (docs/BENCHMARKS.md, "Issue 15, round 5").

Revision ID: drop_session_log_logged_by_index
Revises: push_delivery_status
Create Date: 2026-11-30 19:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "drop_session_log_logged_by_index"
down_revision: str | Sequence[str] | None = "push_delivery_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_session_log_logged_by", table_name="session_log")


def downgrade() -> None:
    op.create_index("ix_session_log_logged_by", "session_log", ["logged_by"], unique=False)
