"""Questionnaires (built-in and custom), who answers what how often, the answers, risk flags,
and Goal Attainment Scaling.

Answers and their scores are stored sealed with the respondent's data key (`sealed_result`);
only ids, the measure's key and times are plain, so the therapist's lists can be queried. A
response records which therapist held the couple's therapist place when it was given, like a
journal entry written for the therapist: a therapist who joins later does not read it.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field as PydanticField
from pydantic import StringConstraints, field_validator, model_validator
from sqlalchemy import JSON, Column, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from tandem.core.db import optional_timestamp, timestamp, uuid_pk
from tandem.core.schemas import Body, Out

MAX_ITEMS = 60
MAX_OPTIONS = 11


class Cadence(StrEnum):
    once = "once"
    weekly = "weekly"
    biweekly = "biweekly"
    before_appointment = "before_appointment"


# --- tables -------------------------------------------------------------------------------


class CustomMeasure(SQLModel, table=True):
    """A therapist's own questionnaire. Never edited once made: answers already given are
    scored and shown against the definition they were given to."""

    __tablename__ = "custom_measure"

    id: uuid.UUID = uuid_pk()
    key: str = Field(sa_type=String(64), unique=True)
    # The measure outlives its author's account, like a plan: couples' answers refer to it.
    owner_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    title: str = Field(max_length=120)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = timestamp()


class MeasureAssignment(SQLModel, table=True):
    __tablename__ = "measure_assignment"
    __table_args__ = (Index("ix_measure_assignment_couple_ended", "couple_id", "ended_at"),)

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    measure_key: str = Field(sa_type=String(64))
    cadence: str = Field(sa_type=String(24))
    # The therapist chose a cadence shorter than the instrument's recall period on purpose.
    allow_short_interval: bool = False
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    # Ended, not deleted: the answers given to it stay in the couple's history.
    ended_at: datetime | None = optional_timestamp()
    # When the reminder planner should look at this assignment again (None: never).
    next_reminder_at: datetime | None = optional_timestamp(index=True)


class MeasureRespondent(SQLModel, table=True):
    __tablename__ = "measure_respondent"

    assignment_id: uuid.UUID = Field(
        foreign_key="measure_assignment.id", ondelete="CASCADE", primary_key=True
    )
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", ondelete="CASCADE", primary_key=True, index=True
    )


class MeasureResponse(SQLModel, table=True):
    __tablename__ = "measure_response"
    __table_args__ = (
        # One answer per person per due occurrence: a second one is a conflict (409).
        Index(
            "uq_measure_response_occurrence",
            "assignment_id",
            "respondent_id",
            "occurrence_key",
            unique=True,
        ),
        Index("ix_measure_response_couple_submitted", "couple_id", "submitted_at"),
    )

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    assignment_id: uuid.UUID | None = Field(
        default=None, foreign_key="measure_assignment.id", ondelete="SET NULL"
    )
    respondent_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    measure_key: str = Field(sa_type=String(64))
    occurrence_key: str = Field(sa_type=String(64))
    therapist_reader_id: uuid.UUID | None = Field(default=None, index=True)
    # Set when the respondent deliberately shows this one result to their partner.
    shared_with_id: uuid.UUID | None = Field(default=None, index=True)
    shared_at: datetime | None = optional_timestamp()
    # JSON {answers, total, subscales, band, risk_items}, sealed with the respondent's key.
    sealed_result: bytes = Field(sa_type=LargeBinary)
    submitted_at: datetime = timestamp()


class RiskFlag(SQLModel, table=True):
    """A risk answer awaiting the therapist. Which item and what was answered stay sealed in
    the response; the flag says only that one needs attention."""

    __tablename__ = "risk_flag"

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    response_id: uuid.UUID = Field(
        foreign_key="measure_response.id", ondelete="CASCADE", unique=True
    )
    respondent_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE")
    therapist_id: uuid.UUID | None = Field(default=None, index=True)
    raised_at: datetime = timestamp()
    cleared_at: datetime | None = optional_timestamp()
    cleared_by: uuid.UUID | None = None


class Goal(SQLModel, table=True):
    __tablename__ = "goal"

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE", index=True)
    title: str = Field(max_length=200)
    # {"-2": …, "-1": …, "0": …, "1": …, "2": …}: each level described in words.
    levels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    # A partner's own goal, or the couple's (None).
    owner_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="CASCADE", index=True
    )
    weight: float = 1.0
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()


class GoalRating(SQLModel, table=True):
    __tablename__ = "goal_rating"

    id: uuid.UUID = uuid_pk()
    goal_id: uuid.UUID = Field(foreign_key="goal.id", ondelete="CASCADE", index=True)
    level: int
    rated_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    rated_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Value = Annotated[int, PydanticField(ge=-100, le=100, strict=True)]


class OptionBody(Body):
    value: Value
    label: Short


class ItemBody(Body):
    text: Text
    options: list[OptionBody] = PydanticField(min_length=2, max_length=MAX_OPTIONS)
    # An answer at or above this value raises a risk flag and shows the safety screen.
    risk_at: Value | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ItemBody":
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("each answer of a question needs its own value")
        if self.risk_at is not None and self.risk_at not in values:
            raise ValueError("the risk value must be one of the question's answer values")
        return self


class BandBody(Body):
    min: Value
    max: Value
    label: Short
    plain: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "BandBody":
        if self.min > self.max:
            raise ValueError("a band's lowest score must not be above its highest")
        return self


class CustomMeasureBody(Body):
    title: Short
    instructions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    items: list[ItemBody] = PydanticField(min_length=1, max_length=MAX_ITEMS)
    bands: list[BandBody] = PydanticField(default_factory=list, max_length=10)
    recall_days: Annotated[int, PydanticField(ge=1, le=365, strict=True)] | None = None
    higher_is: Annotated[str, StringConstraints(pattern="^(worse|better)$")] = "worse"
    attribution: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""

    @field_validator("bands")
    @classmethod
    def _apart(cls, bands: list[BandBody]) -> list[BandBody]:
        ordered = sorted(bands, key=lambda b: b.min)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.min <= before.max:
                raise ValueError("bands must not overlap")
        return ordered


class AssignmentBody(Body):
    measure_key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    respondent_ids: list[uuid.UUID] = PydanticField(min_length=1, max_length=2)
    cadence: Cadence
    allow_short_interval: bool = False


class ResponseBody(Body):
    assignment_id: uuid.UUID
    # Values are checked against the questionnaire in the service, with plain messages.
    answers: dict[Annotated[str, StringConstraints(max_length=40)], Any] = PydanticField(
        max_length=MAX_ITEMS
    )


Level = Annotated[int, PydanticField(ge=-2, le=2, strict=True)]
LEVEL_KEYS = ("-2", "-1", "0", "1", "2")


class GoalBody(Body):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    levels: dict[str, Text]
    owner_id: uuid.UUID | None = None
    weight: Annotated[float, PydanticField(gt=0, le=10)] = 1.0

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, levels: dict[str, str]) -> dict[str, str]:
        if set(levels) != set(LEVEL_KEYS):
            raise ValueError('describe all five levels: "-2", "-1", "0", "1" and "2"')
        return {key: levels[key] for key in LEVEL_KEYS}


class RatingBody(Body):
    level: Level


# --- answers ------------------------------------------------------------------------------


class OptionRead(Out):
    value: int
    label: str


class ItemRead(Out):
    key: str
    text: str
    options: list[OptionRead]
    required: bool
    risk: bool


class BandRead(Out):
    min: int
    max: int
    label: str
    plain: str


class MeasureRead(Out):
    key: str
    title: str
    instructions: str
    items: list[ItemRead]
    scoring: dict[str, Any]
    recall_days: int | None
    higher_is: str
    attribution: str
    custom: bool


class AssignmentRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    measure_key: str
    measure_title: str
    respondent_ids: list[uuid.UUID]
    cadence: Cadence
    allow_short_interval: bool
    created_at: datetime


class DueRead(Out):
    """A questionnaire due for the caller now; it names nobody else."""

    assignment_id: uuid.UUID
    couple_id: uuid.UUID
    occurrence_key: str
    due_until: datetime | None
    measure: MeasureRead


class ResponseCreated(Out):
    id: uuid.UUID
    measure_key: str
    total: int
    subscales: dict[str, dict[str, Any]]
    band: BandRead | None
    risk: bool
    submitted_at: datetime
    # Shown at once on the safety screen after a risk answer; empty otherwise.
    crisis_resources: list[str] = []


class AnswerRead(Out):
    item_key: str
    text: str
    value: int | None
    label: str | None


class ResultRead(Out):
    """One scored response. The respondent and the therapist read it; a partner never reads
    the other's, except the ones deliberately shared (without answers or risk)."""

    id: uuid.UUID
    respondent_id: uuid.UUID
    measure_key: str
    measure_title: str
    total: int
    max_total: int
    subscales: dict[str, dict[str, Any]]
    band: BandRead | None
    submitted_at: datetime
    # Against the respondent's first score on this measure, by its published reliable change.
    reliable_change: str | None = None
    shared: bool = False


class TherapistResultRead(ResultRead):
    answers: list[AnswerRead]
    risk: bool


class LatestResultRead(Out):
    """One person's latest score on one questionnaire, against their first: what a session
    brief shows (the answers item by item stay on the questionnaires page)."""

    respondent_id: uuid.UUID
    measure_key: str
    measure_title: str
    total: int
    max_total: int
    band: BandRead | None
    submitted_at: datetime
    higher_is: str
    count: int  # how many times this person answered it
    first_total: int
    first_at: datetime
    # Latest minus first; None while there is only one score.
    change: int | None
    # "improved", "worsened" or "no reliable change", by the instrument's published value;
    # None where it defines none (or there is one score only).
    reliable_change: str | None
    risk: bool  # the latest answer holds a risk answer


class RiskFlagRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    respondent_id: uuid.UUID
    response_id: uuid.UUID
    measure_key: str
    raised_at: datetime


class FlagCountRead(Out):
    """Open risk flags of one couple, for the therapist's overview: a count, nothing more."""

    couple_id: uuid.UUID
    open: int


class GoalRatingRead(Out):
    level: int
    rated_by: uuid.UUID | None
    rated_at: datetime


class GoalRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    title: str
    levels: dict[str, str]
    owner_id: uuid.UUID | None
    weight: float
    ratings: list[GoalRatingRead]
    created_at: datetime


class GoalAttainmentRead(Out):
    # Kiresuk & Sherman over the latest rating of each goal the caller may see; None before
    # any goal is rated.
    t_score: float | None
    goals: int
    rated: int
