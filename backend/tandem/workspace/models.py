"""The therapist's workspace: the couples overview, a couple's history, the session brief, and
the partners' printable summaries. Read models only, apart from the therapist's own settings
for the overview (how many quiet days, which rating needs attention)."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydanticField
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from tandem.appointments.models import SharedPrepRead
from tandem.core.db import timestamp
from tandem.core.schemas import Body, Out
from tandem.journal.models import CheckinRead, NoteRead, RatingsRead, Visibility
from tandem.measures.models import GoalAttainmentRead, GoalRead, LatestResultRead
from tandem.plans.models import WithdrawnReason
from tandem.practice_times.models import WeekSlotRead

DEFAULT_INACTIVE_DAYS = 5
MAX_INACTIVE_DAYS = 90
# Logs that wait longer than this for the other partner need a word in the next session.
WAITING_DAYS = 2
# Disputes and ratings count for the overview's flags over this many days.
WINDOW_DAYS = 14


class RatingKey(StrEnum):
    closeness = "closeness"
    enjoyment = "enjoyment"
    comfort = "comfort"
    anxiety = "anxiety"


class Direction(StrEnum):
    at_least = "at_least"
    at_most = "at_most"


# --- table --------------------------------------------------------------------------------


class WorkspaceSetting(SQLModel, table=True):
    """A therapist's rules for the overview's flags. Numbers only: nothing sensitive."""

    __tablename__ = "workspace_setting"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    inactive_days: int = DEFAULT_INACTIVE_DAYS
    # None: no rating flag.
    rating_key: str | None = Field(default=RatingKey.anxiety, sa_type=String(16), nullable=True)
    rating_direction: str = Field(default=Direction.at_least, sa_type=String(16))
    rating_threshold: int = 8
    updated_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------

Days = Annotated[int, PydanticField(ge=1, le=MAX_INACTIVE_DAYS, strict=True)]
Threshold = Annotated[int, PydanticField(ge=0, le=10, strict=True)]


class RatingRule(Body):
    key: RatingKey
    direction: Direction = Direction.at_least
    threshold: Threshold

    def hits(self, value: int) -> bool:
        if self.direction == Direction.at_least:
            return value >= self.threshold
        return value <= self.threshold


class WorkspaceSettingsBody(Body):
    inactive_days: Days = DEFAULT_INACTIVE_DAYS
    rating: RatingRule | None = None


# --- answers: settings and overview -------------------------------------------------------


class WorkspaceSettingsRead(Out):
    inactive_days: int
    rating: RatingRule | None


class Count(Out):
    done: int
    target: int


class PartnerCount(Count):
    user_id: uuid.UUID


class ThisWeek(Out):
    week_start: date
    total: Count
    joint: Count
    # Individual exercises, per partner (joint ones are counted once, above).
    partners: list[PartnerCount]


class PersonRead(Out):
    user_id: uuid.UUID
    display_name: str
    left_at: datetime | None = None


class AppointmentBrief(Out):
    id: uuid.UUID
    starts_at: datetime
    note: str = ""


class RatingFlag(Out):
    user_id: uuid.UUID
    key: RatingKey
    value: int
    at: datetime


class Flags(Out):
    waiting: int  # joint logs waiting for the other partner for longer than WAITING_DAYS
    disputes: int  # disputed in the last WINDOW_DAYS
    quiet_days: int | None  # days without activity, once they reach the therapist's N
    partner_left: list[PersonRead]
    ratings: list[RatingFlag]
    prepared: list[uuid.UUID]  # partners who shared preparation for the next appointment
    risk: int = 0  # questionnaire answers awaiting the therapist (counts only, issue 18)


class CoupleRow(Out):
    id: uuid.UUID
    label: str
    timezone: str
    created_at: datetime
    partners: list[PersonRead]
    next_appointment: AppointmentBrief | None
    this_week: ThisWeek | None
    flags: Flags
    attention: int  # how many flags are raised
    last_activity_at: datetime | None


class OverviewRead(Out):
    generated_at: datetime
    settings: WorkspaceSettingsRead
    waiting_days: int = WAITING_DAYS
    window_days: int = WINDOW_DAYS
    couples: list[CoupleRow]


# --- answers: a couple's history, the brief -----------------------------------------------


class ItemWeek(Out):
    plan_item_id: uuid.UUID
    exercise_id: uuid.UUID
    title: str
    mode: str
    done: int
    target: int
    partners: list[PartnerCount]
    awaiting: int
    disputed: int
    withdrawn: int


class HistoryWeek(Out):
    week_start: date
    published_at: datetime | None
    done: int
    target: int
    partners: list[PartnerCount]
    items: list[ItemWeek]


class RatingPoint(Out):
    author_id: uuid.UUID
    at: datetime
    ratings: RatingsRead


class EventKind(StrEnum):
    plan_published = "plan_published"
    logged = "logged"
    confirmed = "confirmed"
    disputed = "disputed"
    withdrawn = "withdrawn"
    note = "note"
    checkin = "checkin"
    prep = "prep"
    appointment = "appointment"
    joined = "joined"
    left = "left"


class Event(Out):
    at: datetime
    week_start: date
    kind: EventKind
    actor_id: uuid.UUID | None = None
    title: str | None = None  # the exercise, for logs
    done_on: date | None = None
    status: str | None = None  # a log's status now
    reason: str | None = None  # what the disputing partner said, when they said something
    closed: WithdrawnReason | None = None  # a log closed because someone left the couple
    text: str | None = None  # a shared note's body or a check-in's text
    obstacles: str | None = None
    ratings: RatingsRead | None = None
    visibility: Visibility | None = None
    count: int | None = None  # preparation: how many sections were shared


class TimelineRead(Out):
    couple_id: uuid.UUID
    label: str
    timezone: str
    since: date
    until: date
    partners: list[PersonRead]
    weeks: list[HistoryWeek]
    ratings: list[RatingPoint]
    events: list[Event]


class RatingSummary(Out):
    author_id: uuid.UUID
    key: RatingKey
    count: int
    first: int
    last: int
    low: int
    high: int
    mean: float


class BriefRead(Out):
    couple_id: uuid.UUID
    label: str
    timezone: str
    since: date
    until: date
    partners: list[PersonRead]
    appointment: AppointmentBrief | None
    last_appointment: AppointmentBrief | None
    preparation: list[SharedPrepRead]
    weeks: list[HistoryWeek]
    sessions: list[Event]  # disputes and withdrawals, with reasons
    ratings: list[RatingPoint]
    rating_summary: list[RatingSummary]
    notes: list[NoteRead]
    checkins: list[CheckinRead]
    # The times the partners agreed (or one proposed) in these weeks, soonest first.
    practice_times: list[WeekSlotRead] = []
    # Questionnaires: each partner's latest score per measure, up to the brief's last day.
    measures: list[LatestResultRead] = []
    goals: list[GoalRead] = []
    goal_attainment: GoalAttainmentRead | None = None


# --- answers: a partner's own summary of a week -------------------------------------------


class SummaryItem(Out):
    title: str
    mode: str
    done: int
    target: int
    mine: Count | None


class WeekSummaryRead(Out):
    couple_id: uuid.UUID
    label: str
    week_start: date
    me: PersonRead
    partner: PersonRead | None
    plan_note: str | None
    items: list[SummaryItem]
    sessions: list[Event]
    my_notes: list[NoteRead]
    my_checkins: list[CheckinRead]
    shared_notes: list[NoteRead]
    shared_checkins: list[CheckinRead]
