"""Reminder preferences, push subscriptions and the notification outbox."""

import re
import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, String, Text, text
from sqlmodel import Field, SQLModel

from tandem.core.db import optional_timestamp, timestamp, uuid_pk
from tandem.core.schemas import Body, Out, TimeZoneName

ALL_WEEKDAYS = [0, 1, 2, 3, 4, 5, 6]
MAX_TIMES = 3


class NotificationState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class NotificationKind(StrEnum):
    reminder = "reminder"
    plan_published = "plan_published"
    joint_practice_logged = "joint_session_logged"
    practice_confirmed = "session_confirmed"
    partner_left = "partner_left"
    appointment = "appointment"
    measure_due = "measure_due"
    test = "test"
    # Before an agreed practice time (tandem.practice_times), a partner's proposal of one, and
    # a partner's nudge.
    slot = "slot"
    slot_proposed = "slot_proposed"
    nudge = "nudge"


# Minutes before an agreed practice time that its reminder goes out, unless the person chose.
DEFAULT_SLOT_LEAD = 30


class ReminderPreference(SQLModel, table=True):
    __tablename__ = "reminder_preference"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    enabled: bool = False
    # "HH:MM" strings, sorted; weekdays 0-6 with Monday = 0.
    times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weekdays: list[int] = Field(
        default_factory=lambda: list(ALL_WEEKDAYS), sa_column=Column(JSON, nullable=False)
    )
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    timezone: str = Field(max_length=64)
    discreet: bool = True
    paused_until: date | None = None
    # Minutes before an agreed practice time (None: no reminder before them).
    slot_lead_minutes: int | None = Field(
        default=DEFAULT_SLOT_LEAD, sa_column_kwargs={"server_default": str(DEFAULT_SLOT_LEAD)}
    )
    # A partner's nudges reach this person; off, they are dropped without the sender knowing.
    nudges: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    # The last local date the scheduler has written rows for (None: plan again from today).
    scheduled_until: date | None = None
    updated_at: datetime = timestamp()


class PushSubscription(SQLModel, table=True):
    __tablename__ = "push_subscription"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    # One device, one owner: a shared phone's endpoint moves to whoever registers it last.
    endpoint: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    p256dh: str = Field(max_length=100)
    auth: str = Field(max_length=40)
    user_agent: str | None = Field(default=None, max_length=200)
    created_at: datetime = timestamp()
    last_success_at: datetime | None = optional_timestamp()
    # Kept when the app re-registers the device (which resets failure_count), so the person
    # can still be told that the last notification did not get through.
    last_failure_at: datetime | None = optional_timestamp()
    failure_count: int = 0


class Notification(SQLModel, table=True):
    """The outbox: written in the transaction of its cause, sent by a worker holding a lease."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_state_due_at", "state", "due_at"),)

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    kind: str = Field(sa_type=String(32))
    # Opaque ids only: the push service and the lock screen never see names or titles.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = timestamp()
    dedupe_key: str = Field(max_length=200, unique=True)
    state: str = Field(default=NotificationState.pending, sa_type=String(16))
    attempts: int = 0
    lease_token: uuid.UUID | None = None
    lease_expires_at: datetime | None = optional_timestamp()
    sent_at: datetime | None = optional_timestamp()
    last_error: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = optional_timestamp()
    created_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _clock(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("Please enter a time of day, such as 08:30.")
    return value


Clock = Annotated[str, PydanticField(max_length=5), AfterValidator(_clock)]


def parse_clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class QuietHours(Body):
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _not_empty(self) -> "QuietHours":
        if self.start == self.end:
            raise ValueError("Quiet hours need different start and end times.")
        return self


class RemindersBody(Body):
    enabled: bool = False
    times: list[Clock] = PydanticField(default_factory=list, max_length=MAX_TIMES)
    weekdays: list[Annotated[int, PydanticField(ge=0, le=6)]] = PydanticField(
        default_factory=lambda: list(ALL_WEEKDAYS), max_length=7
    )
    quiet_hours: QuietHours | None = None
    timezone: TimeZoneName
    discreet: bool = True
    paused_until: date | None = None
    slot_lead_minutes: int | None = PydanticField(default=DEFAULT_SLOT_LEAD, ge=5, le=24 * 60)
    nudges: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> "RemindersBody":
        if len(set(self.times)) != len(self.times):
            raise ValueError("Please choose each reminder time only once.")
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("Please choose each day only once.")
        if self.enabled and not self.times:
            raise ValueError("Reminders that are on need at least one time of day.")
        if self.enabled and not self.weekdays:
            raise ValueError("Reminders that are on need at least one day.")
        return self


class RemindersOut(Out):
    enabled: bool
    times: list[str]
    weekdays: list[int]
    quiet_hours: dict[str, str] | None
    timezone: str
    discreet: bool
    paused_until: date | None
    slot_lead_minutes: int | None
    nudges: bool


class SubscriptionKeys(Body):
    p256dh: str = PydanticField(max_length=200)
    auth: str = PydanticField(max_length=100)


class SubscriptionBody(Body):
    """Exactly what the browser's `PushSubscription.toJSON()` gives."""

    endpoint: str = PydanticField(min_length=1, max_length=2048)
    expirationTime: int | float | None = None  # noqa: N815 (the browser's name)
    keys: SubscriptionKeys


class UnsubscribeBody(Body):
    endpoint: str = PydanticField(min_length=1, max_length=2048)


class SubscriptionStatusBody(UnsubscribeBody):
    """This device's endpoint, in a body: an endpoint is a capability URL, and query strings
    end up in proxies' logs."""


class SubscriptionOut(Out):
    endpoint: str
    created_at: datetime


class Delivery(StrEnum):
    """The last push to one device, as its owner is told: `delivered` (the push service took
    it), `failing` (the last attempt did not get through), `none_yet` (nothing sent since it
    was registered). A device the push service called gone is deleted: it is not found."""

    delivered = "delivered"
    failing = "failing"
    none_yet = "none_yet"


class SubscriptionStatusOut(Out):
    endpoint: str
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None
    delivery: Delivery


class VapidKeyOut(Out):
    public_key: str


class TestNotificationOut(Out):
    id: uuid.UUID
