"""Check-ins and notes: who writes, who reads, and how texts are sealed at rest.

Reading rules (SPEC §3): a private entry has one read path, `WHERE author_id = :me` on the
private tables. A shared entry is read by its author and by the people recorded as its readers
when it was written, and only through a couple they still belong to; a former member reads
nothing of the couple, but keeps what they wrote through the author-only routes.
"""

import json
import logging
import uuid
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Membership
from tandem.journal.entries import (
    CHECKIN,
    NOTE,
    EntryKind,
    Page,
    Values,
    as_read,
    checkin_values,
    new_row,
    open_texts,
    readers,
    seal,
    visibility_of,
)
from tandem.journal.models import (
    CheckinCreate,
    CheckinRead,
    CheckinUpdate,
    NoteCreate,
    NoteRead,
    NoteUpdate,
    PrivateCheckin,
    PrivateNote,
    SharedCheckin,
    SharedNote,
    Visibility,
)
from tandem.plans.models import PlanItem, PracticeLog, WeeklyPlan

log = logging.getLogger("tandem.journal")

# --- writing ------------------------------------------------------------------------------


def _create(
    session: Session,
    *,
    settings: Settings,
    kind: EntryKind,
    membership: Membership,
    values: Values,
    visibility: Visibility,
    carried: dict[str, Any],
) -> NoteRead | CheckinRead:
    row = new_row(
        kind,
        session,
        visibility=visibility,
        carried=carried,
        couple_id=membership.couple_id,
        author_id=membership.user_id,
    )
    seal(crypto.Keyring(session, settings.key_encryption_key), row, values)
    session.add(row)
    session.commit()
    return as_read(kind, row, values)


def create_note(
    session: Session, *, settings: Settings, membership: Membership, data: NoteCreate
) -> NoteRead:
    read = _create(
        session,
        settings=settings,
        kind=NOTE,
        membership=membership,
        values={"body": data.body},
        visibility=data.visibility,
        carried={},
    )
    assert isinstance(read, NoteRead)
    return read


def _check_references(session: Session, *, couple_id: uuid.UUID, data: CheckinCreate) -> None:
    """A check-in may point only at an exercise or a session of its own couple's plans."""
    if data.plan_item_id is not None:
        found = session.exec(
            select(PlanItem.id)
            .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
            .where(PlanItem.id == data.plan_item_id, WeeklyPlan.couple_id == couple_id)
        ).first()
        if found is None:
            raise Invalid("plan_item_id is not an exercise of this couple's plans")
    if data.session_id is not None:
        item_id = session.exec(
            select(PracticeLog.plan_item_id)
            .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
            .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
            .where(PracticeLog.id == data.session_id, WeeklyPlan.couple_id == couple_id)
        ).first()
        if item_id is None:
            raise Invalid("session_id is not a session of this couple")
        if data.plan_item_id is not None and item_id != data.plan_item_id:
            raise Invalid("session_id belongs to another exercise than plan_item_id")


def create_checkin(
    session: Session, *, settings: Settings, membership: Membership, data: CheckinCreate
) -> CheckinRead:
    _check_references(session, couple_id=membership.couple_id, data=data)
    values = checkin_values(data.ratings.model_dump(), data.obstacles, data.text)
    read = _create(
        session,
        settings=settings,
        kind=CHECKIN,
        membership=membership,
        values=values,
        visibility=data.visibility,
        carried={"plan_item_id": data.plan_item_id, "session_id": data.session_id},
    )
    assert isinstance(read, CheckinRead)
    return read


def _authored(session: Session, *, kind: EntryKind, user: User, entry_id: uuid.UUID) -> Any:
    """The caller's own entry; a reader of someone else's is told it is not theirs (403),
    anyone else learns nothing (404)."""
    private = session.exec(
        select(kind.private).where(
            col(kind.private.id) == entry_id,
            col(kind.private.author_id) == user.id,
        )
    ).first()
    if private is not None:
        return private
    shared: Any = session.get(kind.shared, entry_id)
    if shared is None:
        raise NotFound()
    if shared.author_id == user.id:
        return shared
    if user.id in (shared.partner_reader_id, shared.therapist_reader_id) and (
        couples.active_membership(session, user_id=user.id, couple_id=shared.couple_id)
    ):
        raise Forbidden("Only its author can change or delete this entry")
    raise NotFound()


def _update(
    session: Session,
    *,
    settings: Settings,
    kind: EntryKind,
    user: User,
    entry_id: uuid.UUID,
    changes: Values,
    visibility: Visibility | None,
) -> NoteRead | CheckinRead:
    row = _authored(session, kind=kind, user=user, entry_id=entry_id)
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    values = {**open_texts(keyring, kind, row), **changes}
    if kind is CHECKIN:
        checkin_values(
            json.loads(values["ratings"]) if values["ratings"] else None,
            values["obstacles"],
            values["text"],
        )
    old = visibility_of(kind, row)
    new = visibility or old
    if new != old and new != Visibility.private:
        membership = couples.active_membership(session, user_id=user.id, couple_id=row.couple_id)
        if membership is None:
            raise Conflict("You left this couple: this entry can only be made private there")
    now = utcnow()
    if new == old:
        row.updated_at = now
    elif old != Visibility.private and new != Visibility.private:
        row.visibility = new
        row.partner_reader_id, row.therapist_reader_id = readers(
            session, couple_id=row.couple_id, author_id=row.author_id, visibility=new
        )
        row.updated_at = now
    else:
        # Moving between private and shared keeps the id; the text is sealed afresh, because
        # the table is part of what the ciphertext is bound to.
        moved = new_row(
            kind,
            session,
            visibility=new,
            carried={name: getattr(row, name) for name in kind.carried},
            id=row.id,
            couple_id=row.couple_id,
            author_id=row.author_id,
            created_at=row.created_at,
            updated_at=now,
        )
        session.delete(row)
        row = moved
    seal(keyring, row, values)
    session.add(row)
    session.commit()
    return as_read(kind, row, values)


def update_note(
    session: Session, *, settings: Settings, user: User, note_id: uuid.UUID, data: NoteUpdate
) -> NoteRead:
    if "body" in data.model_fields_set and data.body is None:
        raise Invalid("A note needs a body; delete the note instead")
    changes: Values = {"body": data.body} if data.body is not None else {}
    read = _update(
        session,
        settings=settings,
        kind=NOTE,
        user=user,
        entry_id=note_id,
        changes=changes,
        visibility=_new_visibility(data),
    )
    assert isinstance(read, NoteRead)
    return read


def update_checkin(
    session: Session,
    *,
    settings: Settings,
    user: User,
    checkin_id: uuid.UUID,
    data: CheckinUpdate,
) -> CheckinRead:
    changes: Values = {}
    sent = data.model_fields_set
    if "ratings" in sent:
        given = data.ratings.model_dump(exclude_none=True) if data.ratings else {}
        changes["ratings"] = json.dumps(given, sort_keys=True) if given else None
    if "obstacles" in sent:
        changes["obstacles"] = data.obstacles
    if "text" in sent:
        changes["text"] = data.text
    read = _update(
        session,
        settings=settings,
        kind=CHECKIN,
        user=user,
        entry_id=checkin_id,
        changes=changes,
        visibility=_new_visibility(data),
    )
    assert isinstance(read, CheckinRead)
    return read


def _new_visibility(data: NoteUpdate | CheckinUpdate) -> Visibility | None:
    if "visibility" in data.model_fields_set and data.visibility is None:
        raise Invalid("visibility must be one of private, partner, therapist, care_team")
    return data.visibility


def delete_entry(session: Session, *, kind: EntryKind, user: User, entry_id: uuid.UUID) -> None:
    session.delete(_authored(session, kind=kind, user=user, entry_id=entry_id))
    session.commit()


# --- reading ------------------------------------------------------------------------------


def _newest(session: Session, table: Any, page: Page, *conditions: Any) -> list[Any]:
    query = select(table).where(*conditions)
    if page.before is not None:
        query = query.where(col(table.created_at) < page.before)
    query = query.order_by(col(table.created_at).desc(), col(table.id).desc()).limit(page.limit)
    return list(session.exec(query).all())


def _merge(page: Page, *lists: list[Any]) -> list[Any]:
    rows = [row for rows in lists for row in rows]
    rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return rows[: page.limit]


def couple_entries(
    session: Session,
    *,
    settings: Settings,
    kind: EntryKind,
    membership: Membership,
    page: Page,
) -> list[NoteRead | CheckinRead]:
    me, couple_id = membership.user_id, membership.couple_id
    private: list[Any] = []
    shared: list[Any] = []
    if membership.role == Role.partner and page.visibility in (None, Visibility.private):
        private = _newest(
            session,
            kind.private,
            page,
            col(kind.private.author_id) == me,
            col(kind.private.couple_id) == couple_id,
        )
    if page.visibility != Visibility.private:
        table: Any = kind.shared
        conditions = [
            table.couple_id == couple_id,
            or_(
                table.author_id == me,
                table.partner_reader_id == me,
                table.therapist_reader_id == me,
            ),
        ]
        if page.visibility is not None:
            conditions.append(table.visibility == page.visibility)
        shared = _newest(session, table, page, *conditions)
    rows = _merge(page, private, shared)
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    entries = [as_read(kind, row, open_texts(keyring, kind, row)) for row in rows]
    if membership.role == Role.therapist:
        audit.record_reads(
            session,
            action="journal.read_by_therapist",
            reader_id=me,
            couple_id=couple_id,
            author_ids={row.author_id for row in rows},
            detail=kind.name,
        )
    return entries


def my_entries(
    session: Session, *, settings: Settings, kind: EntryKind, user: User, page: Page
) -> list[NoteRead | CheckinRead]:
    rows = _merge(page, *_authored_rows(session, kind=kind, user_id=user.id, page=page))
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    return [as_read(kind, row, open_texts(keyring, kind, row)) for row in rows]


def _authored_rows(
    session: Session, *, kind: EntryKind, user_id: uuid.UUID, page: Page
) -> tuple[list[Any], list[Any]]:
    private: list[Any] = []
    shared: list[Any] = []
    if page.visibility in (None, Visibility.private):
        private = _newest(
            session,
            kind.private,
            page,
            col(kind.private.author_id) == user_id,
        )
    if page.visibility != Visibility.private:
        conditions = [col(kind.shared.author_id) == user_id]
        if page.visibility is not None:
            conditions.append(col(kind.shared.visibility) == page.visibility)
        shared = _newest(session, kind.shared, page, *conditions)
    return private, shared


# --- export and deletion (registered with accounts/person_data.py) ----------------------


def export_authored(session: Session, *, settings: Settings, user: User) -> dict[str, Any]:
    """Everything the person wrote, private entries included, opened; nobody else's."""
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    exported: dict[str, Any] = {}
    for kind in (CHECKIN, NOTE):
        rows: list[Any] = []
        for table in (kind.private, kind.shared):
            rows += session.exec(select(table).where(col(table.author_id) == user.id)).all()
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        exported[kind.name] = [
            as_read(kind, row, open_texts(keyring, kind, row)).model_dump(mode="json")
            for row in rows
        ]
    return exported


def delete_authored(session: Session, *, user_id: uuid.UUID) -> None:
    """Remove every entry the person wrote (the caller commits)."""
    for table in (PrivateNote, SharedNote, PrivateCheckin, SharedCheckin):
        session.execute(delete(table).where(col(table.author_id) == user_id))
