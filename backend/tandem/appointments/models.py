"""The therapist's profile, the couple's appointments, and each partner's preparation for one.

Appointments are kept as rows (history); the couple's "next appointment" is the earliest one
still ahead. Preparation sections hang off an appointment, so once it is past they stay as
they were, and a later appointment starts with a blank sheet.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, StrictBool, StringConstraints, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from tandem.accounts.models import Role
from tandem.core.db import timestamp, uuid_pk
from tandem.core.schemas import Body, Out
from tandem.journal.models import Visibility

SHORT_TEXT = 120
MEDIUM_TEXT = 300
LONG_TEXT = 2_000
NOTE_TEXT = 500
PREP_TEXT = 5_000


class PrepKey(StrEnum):
    concern = "concern"
    onset = "onset"
    pattern = "pattern"
    professionals = "professionals"
    treatments = "treatments"
    medical = "medical"
    life_changes = "life_changes"
    medications = "medications"
    questions = "questions"


PREP_KEYS = list(PrepKey)


# --- tables -------------------------------------------------------------------------------


class _ProfileFields(SQLModel):
    display_name: str | None = Field(default=None, max_length=SHORT_TEXT)
    education: str | None = Field(default=None, max_length=LONG_TEXT)
    licence: str | None = Field(default=None, max_length=LONG_TEXT)
    certifications: str | None = Field(default=None, max_length=LONG_TEXT)
    experience: str | None = Field(default=None, max_length=LONG_TEXT)
    focus: str | None = Field(default=None, max_length=LONG_TEXT)
    location: str | None = Field(default=None, max_length=LONG_TEXT)
    telehealth: bool | None = None
    hours: str | None = Field(default=None, max_length=LONG_TEXT)
    session_length_minutes: int | None = None
    session_frequency: str | None = Field(default=None, max_length=MEDIUM_TEXT)
    expected_course: str | None = Field(default=None, max_length=LONG_TEXT)
    fees: str | None = Field(default=None, max_length=LONG_TEXT)
    insurance: str | None = Field(default=None, max_length=LONG_TEXT)
    payment: str | None = Field(default=None, max_length=LONG_TEXT)
    rescheduling_policy: str | None = Field(default=None, max_length=LONG_TEXT)


PROFILE_FIELDS = list(_ProfileFields.model_fields)


class TherapistProfile(_ProfileFields, table=True):
    __tablename__ = "therapist_profile"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True)
    updated_at: datetime = timestamp()


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_couple_starts", "couple_id", "starts_at"),)

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    starts_at: datetime = timestamp()
    note: str = Field(default="", max_length=NOTE_TEXT)
    set_by: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class PrepFields(SQLModel):
    """The columns of every preparation section, shared or private (not a table itself)."""

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", ondelete="CASCADE")
    author_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    key: str = Field(sa_type=String(16))
    sealed_text: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


def _prep_indexes(table: str) -> tuple[Index, Index]:
    return (
        Index(
            f"uq_{table}_appointment_author_key", "appointment_id", "author_id", "key", unique=True
        ),
        Index(f"ix_{table}_couple_created", "couple_id", "created_at"),
    )


class PrepSection(PrepFields, table=True):
    """One shared section of one partner's preparation for one appointment, sealed at rest.

    Like the journal's shared entries, a section records who held the other partner's and the
    therapist's place when it was written (or its visibility last changed); the shared read
    path asks for rows naming the reader.
    """

    __tablename__ = "prep_section"
    __table_args__ = _prep_indexes("prep_section")

    visibility: str = Field(sa_type=String(16))
    partner_reader_id: uuid.UUID | None = Field(default=None, index=True)
    therapist_reader_id: uuid.UUID | None = Field(default=None, index=True)


class PrivatePrepSection(PrepFields, table=True):
    """A private section: apart from the shared ones, as private journal entries are; its only
    read path is its author."""

    __tablename__ = "private_prep_section"
    __table_args__ = _prep_indexes("private_prep_section")


# --- bodies -------------------------------------------------------------------------------


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT)]
MediumText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MEDIUM_TEXT)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=LONG_TEXT)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NOTE_TEXT)]
PrepText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=PREP_TEXT)]


class TherapistProfileBody(Body):
    """The whole profile: a field left out (or empty) is cleared."""

    display_name: ShortText | None = None
    education: LongText | None = None
    licence: LongText | None = None
    certifications: LongText | None = None
    experience: LongText | None = None
    focus: LongText | None = None
    location: LongText | None = None
    telehealth: StrictBool | None = None
    hours: LongText | None = None
    session_length_minutes: Annotated[int, PydanticField(ge=10, le=600, strict=True)] | None = None
    session_frequency: MediumText | None = None
    expected_course: LongText | None = None
    fees: LongText | None = None
    insurance: LongText | None = None
    payment: LongText | None = None
    rescheduling_policy: LongText | None = None

    @field_validator("*")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class InvitationPreviewBody(Body):
    code: str = PydanticField(min_length=1, max_length=64)


class AppointmentSet(Body):
    starts_at: AwareDatetime
    note: NoteText = ""


class PrepSectionBody(Body):
    key: PrepKey
    # Empty text clears the section.
    text: PrepText = ""
    visibility: Visibility = Visibility.therapist


class PrepBody(Body):
    """My preparation: the sections sent are set; sections left out are kept as they are.
    `appointment_id`, when sent, must name the upcoming appointment (the form was not left open
    across an appointment, which would file the text under the next one)."""

    appointment_id: uuid.UUID | None = None
    sections: list[PrepSectionBody] = PydanticField(max_length=len(PREP_KEYS))

    @field_validator("sections")
    @classmethod
    def _each_key_once(cls, sections: list[PrepSectionBody]) -> list[PrepSectionBody]:
        keys = [s.key for s in sections]
        if len(keys) != len(set(keys)):
            raise ValueError("each section key may appear once")
        return sections


# --- answers ------------------------------------------------------------------------------


class TherapistProfileRead(Out):
    display_name: str | None = None
    education: str | None = None
    licence: str | None = None
    certifications: str | None = None
    experience: str | None = None
    focus: str | None = None
    location: str | None = None
    telehealth: bool | None = None
    hours: str | None = None
    session_length_minutes: int | None = None
    session_frequency: str | None = None
    expected_course: str | None = None
    fees: str | None = None
    insurance: str | None = None
    payment: str | None = None
    rescheduling_policy: str | None = None


class InvitationPreview(Out):
    role: Role
    therapist: TherapistProfileRead | None


class AppointmentRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    starts_at: datetime
    note: str
    updated_at: datetime


class PrepSectionRead(Out):
    key: PrepKey
    text: str
    visibility: Visibility


class PrepRead(Out):
    appointment_id: uuid.UUID
    appointment_starts_at: datetime
    sections: list[PrepSectionRead]


class SharedPrepRead(PrepRead):
    author_id: uuid.UUID
