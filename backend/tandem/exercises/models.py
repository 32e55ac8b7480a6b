import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import StringConstraints, model_validator
from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from tandem.core.db import timestamp, uuid_pk
from tandem.core.schemas import Body, Out


class Category(StrEnum):
    sensate_focus = "sensate_focus"
    communication = "communication"
    mindfulness = "mindfulness"
    education = "education"
    intimacy_date = "intimacy_date"
    body_awareness = "body_awareness"
    pelvic_floor = "pelvic_floor"
    other = "other"


class Mode(StrEnum):
    joint = "joint"
    individual = "individual"


# Categories with stages, and how many (only the therapist moves a couple on, by assigning).
STAGES = {Category.sensate_focus: 3}


class Exercise(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    # Built-in exercises carry the stable key of the data file; custom ones have none.
    key: str | None = Field(default=None, max_length=80, unique=True)
    title: str = Field(max_length=200)
    category: Category = Field(sa_type=String(32))
    stage: int | None = None
    rationale: str = Field(default="", sa_type=Text)
    instructions: str = Field(sa_type=Text)
    boundaries: str | None = Field(default=None, sa_type=Text)
    default_minutes: int
    default_mode: Mode = Field(sa_type=String(16))
    default_times_per_week: int
    custom: bool = False
    owner_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


# --- bodies -------------------------------------------------------------------------------

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
Rationale = Annotated[str, StringConstraints(strip_whitespace=True, max_length=600)]


def _check_stage(category: Category | None, stage: int | None) -> None:
    if stage is None or category is None:
        return
    stages = STAGES.get(category)
    if stages is None:
        raise ValueError("this category has no stages")
    if not 1 <= stage <= stages:
        raise ValueError(f"stage must be between 1 and {stages}")


class ExerciseCreate(Body):
    title: Title
    category: Category
    instructions: Annotated[LongText, StringConstraints(min_length=1)]
    rationale: Rationale = ""
    boundaries: LongText | None = None
    stage: int | None = None
    default_minutes: int = PydanticField(default=20, ge=1, le=240)
    default_mode: Mode = Mode.joint
    default_times_per_week: int = PydanticField(default=2, ge=1, le=14)

    @model_validator(mode="after")
    def _stage_fits(self) -> "ExerciseCreate":
        _check_stage(self.category, self.stage)
        return self


class ExerciseUpdate(Body):
    title: Title | None = None
    category: Category | None = None
    instructions: Annotated[LongText, StringConstraints(min_length=1)] | None = None
    rationale: Rationale | None = None
    boundaries: LongText | None = None
    stage: int | None = None
    default_minutes: int | None = PydanticField(default=None, ge=1, le=240)
    default_mode: Mode | None = None
    default_times_per_week: int | None = PydanticField(default=None, ge=1, le=14)


# --- answers ------------------------------------------------------------------------------


class ExerciseRead(Out):
    id: uuid.UUID
    title: str
    category: Category
    stage: int | None
    rationale: str
    instructions: str
    boundaries: str | None
    default_minutes: int
    default_mode: Mode
    default_times_per_week: int
    custom: bool
