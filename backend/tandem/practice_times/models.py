"""Agreed practice times (slots), the private calendar feed, spent notification actions and
nudges."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from tandem.core.db import timestamp, uuid_pk
from tandem.core.schemas import Body, Out


class SlotStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"


ACTIVE = (SlotStatus.proposed, SlotStatus.accepted)


class PracticeSlot(SQLModel, table=True):
    """A time a couple agreed (or one partner proposed) to do one plan item.

    A joint item's slot is proposed by one partner and accepted or declined by the other; an
    individual item's slot belongs to the partner who set it and is accepted at once.
    """

    __tablename__ = "practice_slot"
    __table_args__ = (
        Index("ix_practice_slot_couple_starts", "couple_id", "starts_at"),
        Index("ix_practice_slot_item_status", "plan_item_id", "status"),
    )

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    plan_item_id: uuid.UUID = Field(foreign_key="plan_item.id", ondelete="CASCADE")
    starts_at: datetime = timestamp()
    status: SlotStatus = Field(default=SlotStatus.proposed, sa_type=String(16))
    proposed_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    answered_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    # Bumped by every change; a reminder row names the version it was planned for, so a row of
    # an older version (moved, cancelled) is never sent and never blocks the new one's key.
    version: int = 1
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class CalendarFeed(SQLModel, table=True):
    """One person's calendar feed: a secret URL, stored only as its hash. It lives as long as
    the membership it was made in; leaving the couple or deleting the account ends it."""

    __tablename__ = "calendar_feed"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    membership_id: uuid.UUID = Field(foreign_key="membership.id", ondelete="CASCADE", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    discreet: bool = True
    created_at: datetime = timestamp()


class ReminderAction(SQLModel, table=True):
    """A notification's action token, spent: one action per notification, ever."""

    __tablename__ = "reminder_action"

    notification_id: uuid.UUID = Field(
        foreign_key="notification.id", ondelete="CASCADE", primary_key=True
    )
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64)
    action: str = Field(sa_type=String(16))
    acted_at: datetime = timestamp()


class Nudge(SQLModel, table=True):
    """A partner's nudge about a log or a proposed time: one per sender, subject and day. The
    row is kept whether or not a push went out, so the limit looks the same either way."""

    __tablename__ = "nudge"
    __table_args__ = (UniqueConstraint("sender_id", "subject_id", "sent_on"),)

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    sender_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE")
    receiver_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    # A session log's id or a slot's id (UUIDs: they never collide).
    subject_id: uuid.UUID
    sent_on: date
    created_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------


class SlotCreate(Body):
    starts_at: AwareDatetime


class SlotMove(Body):
    starts_at: AwareDatetime


class FeedCreate(Body):
    discreet: bool = True


class FeedUpdate(Body):
    discreet: bool


class ReminderActionBody(Body):
    token: str = PydanticField(min_length=1, max_length=200)
    action: Literal["done", "snooze_1h", "snooze_evening"]


class NudgeBody(Body):
    session_id: uuid.UUID | None = None
    slot_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> "NudgeBody":
        if (self.session_id is None) == (self.slot_id is None):
            raise ValueError("say what the nudge is about: a session_id or a slot_id")
        return self


# --- answers ------------------------------------------------------------------------------


class SlotRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    plan_item_id: uuid.UUID
    starts_at: datetime
    proposed_by: uuid.UUID | None
    answered_by: uuid.UUID | None
    status: SlotStatus
    updated_at: datetime


class WeekSlotRead(SlotRead):
    """A slot with its exercise and week: what the therapist's brief lists per week."""

    week_start: date
    title: str
    mode: str


class FeedCreated(Out):
    url: str


class FeedStatus(Out):
    enabled: bool
    created_at: datetime | None
    discreet: bool
