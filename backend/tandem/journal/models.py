"""Check-ins and notes.

Private entries live in their own tables (`private_*`), whose only read path is their author;
shared entries (`shared_*`) carry the ids of the people who held each reading place when the
entry was written, so a partner or therapist who joins later reads nothing of it. Every text
is stored sealed (see `tandem.crypto`); the `sealed_*` columns are never served as they are.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import StringConstraints
from sqlalchemy import Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from tandem.core.db import timestamp, uuid_pk
from tandem.core.schemas import Body, Out, not_blank

MAX_TEXT = 20_000
MAX_OBSTACLES = 2_000


class Visibility(StrEnum):
    private = "private"
    partner = "partner"
    therapist = "therapist"
    care_team = "care_team"


# --- tables -------------------------------------------------------------------------------


class Entry(SQLModel):
    """The columns every check-in and note has, private or shared (not a table itself)."""

    id: uuid.UUID = uuid_pk()
    couple_id: uuid.UUID = Field(foreign_key="couple.id", ondelete="CASCADE")
    author_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE")
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class SharedEntry(Entry):
    visibility: Visibility = Field(sa_type=String(16))
    # Who held the other partner's and the therapist's place at write time (or at the last
    # change of visibility); None when that place was empty or this visibility skips it.
    partner_reader_id: uuid.UUID | None = Field(default=None, index=True)
    therapist_reader_id: uuid.UUID | None = Field(default=None, index=True)


class _CheckinFields(SQLModel):
    # What the check-in is about; when that item or log goes (a draft item deleted, an account
    # deleted), the check-in stays and forgets the reference.
    plan_item_id: uuid.UUID | None = Field(
        default=None, foreign_key="plan_item.id", ondelete="SET NULL"
    )
    session_id: uuid.UUID | None = Field(
        default=None, foreign_key="session_log.id", ondelete="SET NULL"
    )
    sealed_ratings: bytes | None = Field(default=None, sa_type=LargeBinary)
    sealed_obstacles: bytes | None = Field(default=None, sa_type=LargeBinary)
    sealed_text: bytes | None = Field(default=None, sa_type=LargeBinary)


def _indexes(table: str) -> tuple[Index, Index]:
    return (
        Index(f"ix_{table}_couple_created", "couple_id", "created_at"),
        Index(f"ix_{table}_author_created", "author_id", "created_at"),
    )


class PrivateNote(Entry, table=True):
    __tablename__ = "private_note"
    __table_args__ = _indexes("private_note")

    sealed_body: bytes = Field(sa_type=LargeBinary)


class SharedNote(SharedEntry, table=True):
    __tablename__ = "shared_note"
    __table_args__ = _indexes("shared_note")

    sealed_body: bytes = Field(sa_type=LargeBinary)


class PrivateCheckin(_CheckinFields, Entry, table=True):
    __tablename__ = "private_checkin"
    __table_args__ = _indexes("private_checkin")


class SharedCheckin(_CheckinFields, SharedEntry, table=True):
    __tablename__ = "shared_checkin"
    __table_args__ = _indexes("shared_checkin")


# --- bodies -------------------------------------------------------------------------------

Rating = Annotated[int, PydanticField(ge=0, le=10, strict=True)]
# Optional texts may be left out (or null), but text that is sent must say something.
EntryText = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT),
    not_blank("Write something here, or leave it empty"),
]
NoteText = Annotated[
    str, StringConstraints(max_length=MAX_TEXT), not_blank("A note needs some text")
]
Obstacles = Annotated[
    str,
    StringConstraints(max_length=MAX_OBSTACLES),
    not_blank("Write what got in the way, or leave it empty"),
]


class Ratings(Body):
    closeness: Rating | None = None
    enjoyment: Rating | None = None
    comfort: Rating | None = None
    anxiety: Rating | None = None


class CheckinCreate(Body):
    ratings: Ratings = PydanticField(default_factory=Ratings)
    obstacles: Obstacles | None = None
    text: EntryText | None = None
    visibility: Visibility = Visibility.private
    plan_item_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None


class CheckinUpdate(Body):
    """Fields sent are changed; `null` clears ratings, obstacles or text."""

    ratings: Ratings | None = None
    obstacles: Obstacles | None = None
    text: EntryText | None = None
    visibility: Visibility | None = None


class NoteCreate(Body):
    body: NoteText
    visibility: Visibility = Visibility.private


class NoteUpdate(Body):
    body: NoteText | None = None
    visibility: Visibility | None = None


# --- answers ------------------------------------------------------------------------------


class RatingsRead(Out):
    closeness: int | None = None
    enjoyment: int | None = None
    comfort: int | None = None
    anxiety: int | None = None


class CheckinRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    author_id: uuid.UUID
    plan_item_id: uuid.UUID | None
    session_id: uuid.UUID | None
    ratings: RatingsRead
    obstacles: str | None
    text: str | None
    visibility: Visibility
    created_at: datetime
    updated_at: datetime


class NoteRead(Out):
    id: uuid.UUID
    couple_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
