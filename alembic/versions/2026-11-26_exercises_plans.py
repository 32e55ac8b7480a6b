"""exercise library, weekly plans, plan items and session logs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:39:47.232037
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import tandem.core.db
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exercise",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("boundaries", sa.Text(), nullable=True),
        sa.Column("default_minutes", sa.Integer(), nullable=False),
        sa.Column("default_mode", sa.String(length=16), nullable=False),
        sa.Column("default_times_per_week", sa.Integer(), nullable=False),
        sa.Column("custom", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_exercise_owner_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise")),
        sa.UniqueConstraint("key", name=op.f("uq_exercise_key")),
    )
    with op.batch_alter_table("exercise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercise_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "weekly_plan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", tandem.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_weekly_plan_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_weekly_plan_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_plan")),
        sa.UniqueConstraint(
            "couple_id", "week_start", name=op.f("uq_weekly_plan_couple_id_week_start")
        ),
    )
    with op.batch_alter_table("weekly_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weekly_plan_couple_id"), ["couple_id"], unique=False)

    op.create_table(
        "plan_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("times_per_week", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", tandem.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"], ["exercise.id"], name=op.f("fk_plan_item_exercise_id_exercise")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["weekly_plan.id"],
            name=op.f("fk_plan_item_plan_id_weekly_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_item")),
    )
    with op.batch_alter_table("plan_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_item_exercise_id"), ["exercise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_item_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "plan_item_assignee",
        sa.Column("plan_item_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_item.id"],
            name=op.f("fk_plan_item_assignee_plan_item_id_plan_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_plan_item_assignee_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_item_id", "user_id", name=op.f("pk_plan_item_assignee")),
    )
    op.create_table(
        "session_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_item_id", sa.Uuid(), nullable=False),
        sa.Column("logged_by", sa.Uuid(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("disputed_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["user_account.id"],
            name=op.f("fk_session_log_confirmed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["disputed_by"],
            ["user_account.id"],
            name=op.f("fk_session_log_disputed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["logged_by"],
            ["user_account.id"],
            name=op.f("fk_session_log_logged_by_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_item.id"],
            name=op.f("fk_session_log_plan_item_id_plan_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_log")),
        sa.UniqueConstraint(
            "logged_by", "client_id", name=op.f("uq_session_log_logged_by_client_id")
        ),
    )
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_log_item_status", ["plan_item_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_session_log_logged_by"), ["logged_by"], unique=False)

    op.create_table(
        "session_log_request",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("session_log_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_log_id"],
            ["session_log.id"],
            name=op.f("fk_session_log_request_session_log_id_session_log"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_session_log_request_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "client_id", name=op.f("pk_session_log_request")),
    )
    with op.batch_alter_table("session_log_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_log_request_session_log_id"), ["session_log_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("session_log_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_log_request_session_log_id"))

    op.drop_table("session_log_request")
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_log_logged_by"))
        batch_op.drop_index("ix_session_log_item_status")

    op.drop_table("session_log")
    op.drop_table("plan_item_assignee")
    with op.batch_alter_table("plan_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_item_plan_id"))
        batch_op.drop_index(batch_op.f("ix_plan_item_exercise_id"))

    op.drop_table("plan_item")
    with op.batch_alter_table("weekly_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weekly_plan_couple_id"))

    op.drop_table("weekly_plan")
    with op.batch_alter_table("exercise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_owner_id"))

    op.drop_table("exercise")
