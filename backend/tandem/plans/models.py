import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import StringConstraints
from sqlalchemy import Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tandem.core.db import optional_timestamp, timestamp, uuid_pk
from tandem.core.schemas import Body, Out, not_blank
from tandem.exercises.models import Category, Mode

MAX_ITEMS = 30
MAX_DISPUTE_REASON = 500


class PlanStatus(StrEnum):
    draft = "draft"
    published = "published"


class LogStatus(StrEnum):
    done = "done"
    awaiting_partner = "awaiting_partner"
    disputed = "disputed"
    withdrawn = "withdrawn"


class WithdrawnReason(StrEnum):
    """Why a log was closed without its author withdrawing it: someone left the couple. (An
    author's own withdrawal has no reason.)"""

    author_left = "author_left"  # the partner who logged it left before it was confirmed
    partner_left = "partner_left"  # the partner it waited for left


class WeeklyPlan(SQLModel, table=True):
    __tablename__ = "weekly_plan"
    __table_args__ = (UniqueConstraint("couple_id", "week_start"),)

    id: uuid.UUID = uuid_pk()
    # The plan belongs to the couple: it outlives a change of therapist or a deleted account.
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    week_start: date
    status: PlanStatus = Field(default=PlanStatus.draft, sa_type=String(16))
    note: str = Field(default="", sa_type=Text)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    published_at: datetime | None = optional_timestamp()


class PlanItem(SQLModel, table=True):
    __tablename__ = "plan_item"

    id: uuid.UUID = uuid_pk()
    plan_id: uuid.UUID = Field(foreign_key="weekly_plan.id", ondelete="CASCADE", index=True)
    exercise_id: uuid.UUID = Field(foreign_key="exercise.id", index=True)
    mode: Mode = Field(sa_type=String(16))
    times_per_week: int
    minutes: int
    instructions: str = Field(default="", sa_type=Text)
    position: int = 0
    created_at: datetime = timestamp()
    # Removed from a published plan: hidden and not counted, kept so no log is ever lost.
    archived_at: datetime | None = optional_timestamp()


class PlanItemAssignee(SQLModel, table=True):
    """Explicit assignees of an individual item. No rows means both partners, whoever the
    couple's partners are when the plan is read."""

    __tablename__ = "plan_item_assignee"

    plan_item_id: uuid.UUID = Field(
        foreign_key="plan_item.id", ondelete="CASCADE", primary_key=True
    )
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)


class PracticeLog(SQLModel, table=True):
    __tablename__ = "session_log"
    __table_args__ = (
        UniqueConstraint("logged_by", "client_id"),
        Index("ix_session_log_item_status", "plan_item_id", "status"),
    )

    id: uuid.UUID = uuid_pk()
    plan_item_id: uuid.UUID = Field(foreign_key="plan_item.id", ondelete="CASCADE")
    # Indexed by the unique (logged_by, client_id) above, which leads with it.
    logged_by: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE")
    done_on: date
    status: LogStatus = Field(sa_type=String(20))
    client_id: uuid.UUID
    confirmed_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    disputed_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    disputed_at: datetime | None = optional_timestamp()
    # What the disputing partner said happened, sealed under their data key (tandem.crypto)
    # like journal text; read by the couple's members who were there when it was said.
    sealed_dispute_reason: bytes | None = Field(default=None, sa_type=LargeBinary)
    withdrawn_reason: WithdrawnReason | None = Field(default=None, sa_type=String(20))
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class PracticeLogRequest(SQLModel, table=True):
    """Every client_id a person has sent, and the log it produced. Logging a joint item the
    other partner is waiting on confirms their log, so a client_id may point at a log
    someone else wrote; its replay must still answer that same log."""

    __tablename__ = "session_log_request"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    client_id: uuid.UUID = Field(primary_key=True)
    session_log_id: uuid.UUID = Field(foreign_key="session_log.id", ondelete="CASCADE", index=True)
    created_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------


class PlanItemIn(Body):
    id: uuid.UUID | None = None
    exercise_id: uuid.UUID
    mode: Mode
    times_per_week: int = PydanticField(ge=1, le=14)
    assignee_ids: list[uuid.UUID] | None = PydanticField(default=None, max_length=2)
    minutes: int | None = PydanticField(default=None, ge=1, le=240)
    instructions: str | None = PydanticField(default=None, max_length=4000)


class PlanPut(Body):
    note: str = PydanticField(default="", max_length=4000)
    items: list[PlanItemIn] = PydanticField(default_factory=list, max_length=MAX_ITEMS)


class PracticeLogCreate(Body):
    client_id: uuid.UUID
    done_on: date | None = None


DisputeReason = Annotated[
    str,
    StringConstraints(max_length=MAX_DISPUTE_REASON),
    not_blank("Say what happened, or leave it out"),
]


class DisputeBody(Body):
    reason: DisputeReason | None = None


# --- answers ------------------------------------------------------------------------------


class PracticeLogRead(Out):
    id: uuid.UUID
    plan_item_id: uuid.UUID
    logged_by: uuid.UUID
    done_on: date
    status: LogStatus
    confirmed_by: uuid.UUID | None
    disputed_by: uuid.UUID | None
    client_id: uuid.UUID
    created_at: datetime
    # Only for the couple's members who were there when it was said; otherwise null.
    dispute_reason: str | None = None
    withdrawn_reason: WithdrawnReason | None = None


class PartnerProgress(Out):
    user_id: uuid.UUID
    done: int
    target: int


class ItemProgress(Out):
    done: int
    target: int
    awaiting_partner: int
    # Each assignee's own count: an individual item for both is "2 of 7" and "3 of 7", not
    # "5 of 14"; a joint item counts the same for both.
    by_partner: list[PartnerProgress]


class PlanItemRead(Out):
    id: uuid.UUID
    exercise_id: uuid.UUID
    title: str
    category: Category
    mode: Mode
    assignee_ids: list[uuid.UUID]
    times_per_week: int
    minutes: int
    instructions: str
    position: int
    progress: ItemProgress
    sessions: list[PracticeLogRead]


class PlanRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    week_start: date
    status: PlanStatus
    note: str
    published_at: datetime | None
    items: list[PlanItemRead]


class PartnerAdherence(PartnerProgress):
    pass


class ItemAdherence(Out):
    plan_item_id: uuid.UUID
    title: str
    done: int
    target: int


class AdherenceWeek(Out):
    week_start: date
    plan_id: uuid.UUID | None
    done: int
    target: int
    by_partner: list[PartnerAdherence]
    items: list[ItemAdherence]


class AdherenceRead(Out):
    weeks: list[AdherenceWeek]
