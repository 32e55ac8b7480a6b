"""Journal: check-ins and notes (private and shared tables), per-user data keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:39:20.326642
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import tandem.core.db
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "private_checkin",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("plan_item_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("sealed_ratings", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_obstacles", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_text", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_private_checkin_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_private_checkin_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_checkin")),
    )
    with op.batch_alter_table("private_checkin", schema=None) as batch_op:
        batch_op.create_index(
            "ix_private_checkin_author_created", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_private_checkin_couple_created", ["couple_id", "created_at"], unique=False
        )

    op.create_table(
        "private_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_private_note_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_private_note_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_note")),
    )
    with op.batch_alter_table("private_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_private_note_author_created", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_private_note_couple_created", ["couple_id", "created_at"], unique=False
        )

    op.create_table(
        "shared_checkin",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("partner_reader_id", sa.Uuid(), nullable=True),
        sa.Column("therapist_reader_id", sa.Uuid(), nullable=True),
        sa.Column("plan_item_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("sealed_ratings", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_obstacles", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_text", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_shared_checkin_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_shared_checkin_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_checkin")),
    )
    with op.batch_alter_table("shared_checkin", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shared_checkin_author_created", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_shared_checkin_couple_created", ["couple_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shared_checkin_partner_reader_id"), ["partner_reader_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shared_checkin_therapist_reader_id"),
            ["therapist_reader_id"],
            unique=False,
        )

    op.create_table(
        "shared_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("partner_reader_id", sa.Uuid(), nullable=True),
        sa.Column("therapist_reader_id", sa.Uuid(), nullable=True),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_shared_note_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_shared_note_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_note")),
    )
    with op.batch_alter_table("shared_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shared_note_author_created", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_shared_note_couple_created", ["couple_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shared_note_partner_reader_id"), ["partner_reader_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shared_note_therapist_reader_id"), ["therapist_reader_id"], unique=False
        )

    op.create_table(
        "user_data_key",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kek_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_data_key_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_data_key")),
    )


def downgrade() -> None:
    op.drop_table("user_data_key")
    with op.batch_alter_table("shared_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_note_therapist_reader_id"))
        batch_op.drop_index(batch_op.f("ix_shared_note_partner_reader_id"))
        batch_op.drop_index("ix_shared_note_couple_created")
        batch_op.drop_index("ix_shared_note_author_created")

    op.drop_table("shared_note")
    with op.batch_alter_table("shared_checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_checkin_therapist_reader_id"))
        batch_op.drop_index(batch_op.f("ix_shared_checkin_partner_reader_id"))
        batch_op.drop_index("ix_shared_checkin_couple_created")
        batch_op.drop_index("ix_shared_checkin_author_created")

    op.drop_table("shared_checkin")
    with op.batch_alter_table("private_note", schema=None) as batch_op:
        batch_op.drop_index("ix_private_note_couple_created")
        batch_op.drop_index("ix_private_note_author_created")

    op.drop_table("private_note")
    with op.batch_alter_table("private_checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_private_checkin_couple_created")
        batch_op.drop_index("ix_private_checkin_author_created")

    op.drop_table("private_checkin")
