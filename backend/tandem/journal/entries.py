"""What a journal entry is (a note or a check-in, private or shared) and how its texts are
sealed at rest and opened for a reader; who its readers are when it is written."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from tandem.accounts.models import Role
from tandem.core import crypto
from tandem.core.errors import Invalid
from tandem.couples import service as couples
from tandem.journal.models import (
    CheckinRead,
    Entry,
    NoteRead,
    PrivateCheckin,
    PrivateNote,
    RatingsRead,
    SharedCheckin,
    SharedEntry,
    SharedNote,
    Visibility,
)

Values = dict[str, str | None]


@dataclass(frozen=True)
class EntryKind:
    """What differs between check-ins and notes; the rules are the same for both."""

    name: str
    private: type[Entry]
    shared: type[SharedEntry]
    sealed: tuple[str, ...]  # text fields, each stored as `sealed_<field>`
    carried: tuple[str, ...]  # plain columns kept when an entry moves between tables


NOTE = EntryKind("notes", PrivateNote, SharedNote, ("body",), ())
CHECKIN = EntryKind(
    "checkins",
    PrivateCheckin,
    SharedCheckin,
    ("ratings", "obstacles", "text"),
    ("plan_item_id", "session_id"),
)


@dataclass
class Page:
    limit: int = 50
    before: datetime | None = None
    visibility: Visibility | None = None


# --- sealing ------------------------------------------------------------------------------


def seal(keyring: crypto.Keyring, row: Any, values: Values) -> None:
    for field, text in values.items():
        sealed = None
        if text is not None:
            sealed = keyring.seal(
                text,
                table=row.__tablename__,
                row_id=row.id,
                author_id=row.author_id,
                field=field,
            )
        setattr(row, f"sealed_{field}", sealed)


def open_texts(keyring: crypto.Keyring, kind: EntryKind, row: Any) -> Values:
    values: Values = {}
    for field in kind.sealed:
        sealed = getattr(row, f"sealed_{field}")
        values[field] = (
            None
            if sealed is None
            else keyring.open(
                sealed,
                table=row.__tablename__,
                row_id=row.id,
                author_id=row.author_id,
                field=field,
            )
        )
    return values


def opened(
    keyring: crypto.Keyring, kind: EntryKind, rows: list[Any]
) -> list[NoteRead | CheckinRead]:
    """Rows of `kind` (private or shared) as their readers see them, texts opened."""
    return [as_read(kind, row, open_texts(keyring, kind, row)) for row in rows]


def visibility_of(kind: EntryKind, row: Any) -> Visibility:
    return row.visibility if isinstance(row, kind.shared) else Visibility.private


def as_read(kind: EntryKind, row: Any, values: Values) -> NoteRead | CheckinRead:
    common = {
        "id": row.id,
        "couple_id": row.couple_id,
        "author_id": row.author_id,
        "visibility": visibility_of(kind, row),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if kind is NOTE:
        return NoteRead(body=values["body"] or "", **common)
    ratings = json.loads(values["ratings"]) if values["ratings"] else {}
    return CheckinRead(
        plan_item_id=row.plan_item_id,
        session_id=row.session_id,
        ratings=RatingsRead(**ratings),
        obstacles=values["obstacles"],
        text=values["text"],
        **common,
    )


def checkin_values(ratings: dict[str, int | None] | None, obstacles: Any, text: Any) -> Values:
    given = {k: v for k, v in (ratings or {}).items() if v is not None}
    values: Values = {
        "ratings": json.dumps(given, sort_keys=True) if given else None,
        "obstacles": obstacles,
        "text": text,
    }
    if not any(values.values()):
        raise Invalid("A check-in needs at least a rating, what got in the way, or some text")
    return values


# --- readers ------------------------------------------------------------------------------


def readers(
    session: Session, *, couple_id: uuid.UUID, author_id: uuid.UUID, visibility: Visibility
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(partner reader, therapist reader): who holds those places now, for this visibility.
    Recorded on the row (journal entries, preparation sections), so a partner or therapist
    who joins later reads nothing of it."""
    partner = therapist = None
    for membership, _user in couples.active_members(session, couple_id):
        if membership.role == Role.therapist:
            therapist = membership.user_id
        elif membership.user_id != author_id:
            partner = membership.user_id
    return (
        partner if visibility in (Visibility.partner, Visibility.care_team) else None,
        therapist if visibility in (Visibility.therapist, Visibility.care_team) else None,
    )


def new_row(
    kind: EntryKind,
    session: Session,
    *,
    visibility: Visibility,
    carried: dict[str, Any],
    **columns: Any,
) -> Any:
    if visibility == Visibility.private:
        return kind.private(**columns, **carried)
    partner_reader, therapist_reader = readers(
        session,
        couple_id=columns["couple_id"],
        author_id=columns["author_id"],
        visibility=visibility,
    )
    return kind.shared(
        **columns,
        **carried,
        visibility=visibility,
        partner_reader_id=partner_reader,
        therapist_reader_id=therapist_reader,
    )
