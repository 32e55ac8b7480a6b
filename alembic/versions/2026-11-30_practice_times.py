"""practice times: agreed slots, calendar feeds, spent reminder actions, nudges;
slot lead time and nudges in reminder preferences

Revision ID: practice_times
Revises: measures_mbc
Create Date: 2026-11-30 09:47:21.950134
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import tandem.core.db
from alembic import op

revision: str = "practice_times"
down_revision: str | Sequence[str] | None = "session_log_dispute_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nudge",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("sender_id", sa.Uuid(), nullable=False),
        sa.Column("receiver_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["couple_id"], ["couple.id"], name=op.f("fk_nudge_couple_id_couple"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["user_account.id"],
            name=op.f("fk_nudge_receiver_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["user_account.id"],
            name=op.f("fk_nudge_sender_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge")),
        sa.UniqueConstraint(
            "sender_id", "subject_id", "sent_on", name=op.f("uq_nudge_sender_id_subject_id_sent_on")
        ),
    )
    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nudge_couple_id"), ["couple_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudge_receiver_id"), ["receiver_id"], unique=False)

    op.create_table(
        "calendar_feed",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("discreet", sa.Boolean(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["membership.id"],
            name=op.f("fk_calendar_feed_membership_id_membership"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_calendar_feed_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feed_secret_hash")),
    )
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_feed_membership_id"), ["membership_id"], unique=False
        )

    op.create_table(
        "reminder_action",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("acted_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_reminder_action_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_reminder_action_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_reminder_action")),
    )
    with op.batch_alter_table("reminder_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_action_user_id"), ["user_id"], unique=False)

    op.create_table(
        "practice_slot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("plan_item_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=True),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["user_account.id"],
            name=op.f("fk_practice_slot_answered_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_practice_slot_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_item.id"],
            name=op.f("fk_practice_slot_plan_item_id_plan_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["user_account.id"],
            name=op.f("fk_practice_slot_proposed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_slot")),
    )
    with op.batch_alter_table("practice_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_practice_slot_couple_starts", ["couple_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_practice_slot_item_status", ["plan_item_id", "status"], unique=False
        )

    with op.batch_alter_table("reminder_preference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot_lead_minutes", sa.Integer(), server_default="30", nullable=True)
        )
        batch_op.add_column(
            sa.Column("nudges", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_preference", schema=None) as batch_op:
        batch_op.drop_column("nudges")
        batch_op.drop_column("slot_lead_minutes")

    with op.batch_alter_table("practice_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_slot_item_status")
        batch_op.drop_index("ix_practice_slot_couple_starts")

    op.drop_table("practice_slot")
    with op.batch_alter_table("reminder_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_action_user_id"))

    op.drop_table("reminder_action")
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feed_membership_id"))

    op.drop_table("calendar_feed")
    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudge_receiver_id"))
        batch_op.drop_index(batch_op.f("ix_nudge_couple_id"))

    op.drop_table("nudge")
