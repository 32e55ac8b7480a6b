"""Private preparation sections live apart from shared ones, in private_prep_section

Existing private rows move over as they are (same id, same sealed text: a section is sealed
under the label "prep_section" in either table, see appointments/prep.py).

Revision ID: private_prep
Revises: checkin_references
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa

import tandem.core.db
from alembic import op

revision: str = "private_prep"
down_revision: str | Sequence[str] | None = "checkin_references"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, couple_id, appointment_id, author_id, key, sealed_text, created_at, updated_at"


def upgrade() -> None:
    op.create_table(
        "private_prep_section",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("couple_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("sealed_text", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tandem.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_private_prep_section_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_private_prep_section_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["couple_id"],
            ["couple.id"],
            name=op.f("fk_private_prep_section_couple_id_couple"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_prep_section")),
    )
    with op.batch_alter_table("private_prep_section", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_private_prep_section_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            "ix_private_prep_section_couple_created", ["couple_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_private_prep_section_appointment_author_key",
            ["appointment_id", "author_id", "key"],
            unique=True,
        )
    op.execute(
        f"INSERT INTO private_prep_section ({COLUMNS}) "  # noqa: S608
        f"SELECT {COLUMNS} FROM prep_section WHERE visibility = 'private'"
    )
    op.execute("DELETE FROM prep_section WHERE visibility = 'private'")


def downgrade() -> None:
    op.execute(
        f"INSERT INTO prep_section ({COLUMNS}, visibility) "  # noqa: S608
        f"SELECT {COLUMNS}, 'private' FROM private_prep_section"
    )
    with op.batch_alter_table("private_prep_section", schema=None) as batch_op:
        batch_op.drop_index("uq_private_prep_section_appointment_author_key")
        batch_op.drop_index("ix_private_prep_section_couple_created")
        batch_op.drop_index(batch_op.f("ix_private_prep_section_author_id"))
    op.drop_table("private_prep_section")
