import uuid
from datetime import datetime

from pydantic import Field as PydanticField
from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from tandem.accounts.models import Role
from tandem.core.db import optional_timestamp, timestamp, uuid_pk
from tandem.core.schemas import Body, Label, Out, TimeZoneName


class Couple(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    label: str = Field(max_length=120)
    timezone: str = Field(max_length=64)
    created_at: datetime = timestamp()


class Membership(SQLModel, table=True):
    __table_args__ = (
        # The database itself holds the one-active-couple-per-partner and
        # one-therapist-per-couple rules, so no race between two requests can break them.
        Index(
            "uq_membership_active_partner",
            "user_id",
            unique=True,
            sqlite_where=text("left_at IS NULL AND role = 'partner'"),
            postgresql_where=text("left_at IS NULL AND role = 'partner'"),
        ),
        Index(
            "uq_membership_active_therapist",
            "couple_id",
            unique=True,
            sqlite_where=text("left_at IS NULL AND role = 'therapist'"),
            postgresql_where=text("left_at IS NULL AND role = 'therapist'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    role: Role = Field(sa_type=String(16))
    joined_at: datetime = timestamp()
    left_at: datetime | None = optional_timestamp()


class Invitation(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    role: Role = Field(sa_type=String(16))
    code_hash: str = Field(max_length=64, unique=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp()
    accepted_at: datetime | None = optional_timestamp()
    accepted_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    revoked_at: datetime | None = optional_timestamp()


# --- bodies -------------------------------------------------------------------------------


class CoupleCreate(Body):
    label: Label
    timezone: TimeZoneName


class InvitationCreate(Body):
    role: Role


class InvitationCode(Body):
    code: str = PydanticField(min_length=1, max_length=64)


# --- answers ------------------------------------------------------------------------------


class MemberRead(Out):
    user_id: uuid.UUID
    display_name: str
    role: Role


class FormerMemberRead(MemberRead):
    left_at: datetime


class WeekProgress(Out):
    done: int
    target: int


class CoupleRead(Out):
    id: uuid.UUID
    label: str
    timezone: str
    members: list[MemberRead]
    this_week: WeekProgress | None = None
    # Who left while the reader was a member, newest first: the partner left behind and the
    # therapist learn it; someone who joins later never learns who was there before them.
    former_members: list[FormerMemberRead] = []


class InvitationRead(Out):
    id: uuid.UUID
    role: Role
    expires_at: datetime
    created_by: uuid.UUID | None


class InvitationCreated(InvitationRead):
    code: str
    link: str


class MembershipRead(Out):
    couple_id: uuid.UUID
    role: Role
    joined_at: datetime
