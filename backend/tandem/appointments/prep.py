"""Session preparation: each partner's notes for one appointment, sealed section by section.

Sealed with the journal's envelope encryption (`tandem.crypto`), bound to the row, its author
and the field. A shared section records who held the other partner's and the therapist's place
when it was written (or its visibility last changed), like the journal's shared entries. A
private section lives apart, in its own table (`private_prep_section`), whose only read path
is its author; a change of visibility moves the section from one table to the other.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.appointments.models import (
    PREP_KEYS,
    Appointment,
    PrepBody,
    PrepFields,
    PrepRead,
    PrepSection,
    PrepSectionRead,
    PrivatePrepSection,
    SharedPrepRead,
)
from tandem.appointments.service import next_appointment, require_next_appointment
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict
from tandem.couples.models import Membership
from tandem.journal import entries
from tandem.journal.models import Visibility

# The label sealed into every section's associated data, in both tables: private sections
# were kept in prep_section before they moved to a table of their own, and a migration holds
# no key to seal them anew. The row id, author and field still bind each ciphertext to its row.
PREP_TABLE = PrepSection.__tablename__
PREP_FIELD = "text"
# A section in either table (PrepSection or PrivatePrepSection).
Section = PrepFields
TABLES: tuple[type[Section], ...] = (PrepSection, PrivatePrepSection)


def _open_section(keyring: crypto.Keyring, row: Section) -> str:
    return keyring.open(
        row.sealed_text,
        table=PREP_TABLE,
        row_id=row.id,
        author_id=row.author_id,
        field=PREP_FIELD,
    )


def _seal_section(keyring: crypto.Keyring, row: Section, text: str) -> None:
    # Bound to this table, row and author: a ciphertext copied elsewhere fails to open.
    row.sealed_text = keyring.seal(
        text, table=PREP_TABLE, row_id=row.id, author_id=row.author_id, field=PREP_FIELD
    )


def _visibility(row: Section) -> Visibility:
    return Visibility(row.visibility) if isinstance(row, PrepSection) else Visibility.private


def _sections(
    rows: Sequence[Section], texts: dict[uuid.UUID, str], *, blanks: bool
) -> list[PrepSectionRead]:
    by_key = {row.key: row for row in rows}
    sections = []
    for key in PREP_KEYS:
        row = by_key.get(key)
        if row is not None:
            sections.append(
                PrepSectionRead(key=key, text=texts[row.id], visibility=_visibility(row))
            )
        elif blanks:
            sections.append(PrepSectionRead(key=key, text="", visibility=Visibility.therapist))
    return sections


def _my_rows(session: Session, *, appointment_id: uuid.UUID, author_id: uuid.UUID) -> list[Section]:
    rows: list[Section] = []
    for table in TABLES:
        rows += session.exec(
            select(table).where(
                table.appointment_id == appointment_id, table.author_id == author_id
            )
        ).all()
    return rows


def _my_prep_read(
    session: Session, *, settings: Settings, appointment: Appointment, author_id: uuid.UUID
) -> PrepRead:
    rows = _my_rows(session, appointment_id=appointment.id, author_id=author_id)
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    texts = {row.id: _open_section(keyring, row) for row in rows}
    return PrepRead(
        appointment_id=appointment.id,
        appointment_starts_at=appointment.starts_at,
        sections=_sections(rows, texts, blanks=True),
    )


def my_prep(session: Session, *, settings: Settings, membership: Membership) -> PrepRead:
    """My preparation for the next appointment: every section, blank ones included."""
    appointment = require_next_appointment(session, couple_id=membership.couple_id)
    return _my_prep_read(
        session, settings=settings, appointment=appointment, author_id=membership.user_id
    )


def put_my_prep(
    session: Session, *, settings: Settings, membership: Membership, data: PrepBody
) -> PrepRead:
    """Set the sections sent (an empty text clears one); sections not sent are kept."""
    appointment = next_appointment(session, couple_id=membership.couple_id)
    if appointment is None:
        raise Conflict("There is no upcoming appointment to prepare for")
    if data.appointment_id is not None and data.appointment_id != appointment.id:
        raise Conflict("That appointment is no longer the next one; reload to prepare for it")
    me, couple_id = membership.user_id, membership.couple_id
    existing = {
        row.key: row for row in _my_rows(session, appointment_id=appointment.id, author_id=me)
    }
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    now = utcnow()
    for section in data.sections:
        row = existing.get(section.key)
        private = section.visibility == Visibility.private
        if row is not None and (not section.text or isinstance(row, PrivatePrepSection) != private):
            # Cleared, or crossing between private and shared: it leaves its table.
            session.delete(row)
            session.flush()
            row = None
        if not section.text:
            continue
        if (
            row is not None
            and _visibility(row) == section.visibility
            and _open_section(keyring, row) == section.text
        ):
            # Unchanged: it keeps its time. The form sends every section, and a shared one
            # touched by saving a private one would tell its readers that something was written.
            continue
        new = row is None
        if row is None and private:
            row = PrivatePrepSection(
                couple_id=couple_id,
                appointment_id=appointment.id,
                author_id=me,
                key=section.key,
                sealed_text=b"",  # sealed below, with the row's id
            )
        elif row is None:
            row = PrepSection(
                couple_id=couple_id,
                appointment_id=appointment.id,
                author_id=me,
                key=section.key,
                visibility=section.visibility,  # and its readers, just below
                sealed_text=b"",  # sealed below, with the row's id
            )
        if isinstance(row, PrepSection) and (new or row.visibility != section.visibility):
            row.visibility = section.visibility
            row.partner_reader_id, row.therapist_reader_id = entries.readers(
                session, couple_id=couple_id, author_id=me, visibility=section.visibility
            )
        row.updated_at = now
        _seal_section(keyring, row, section.text)
        session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # The same person saving twice at once; the unique index kept one of each section.
        session.rollback()
        raise Conflict("Your preparation changed meanwhile; reload and try again") from exc
    session.commit()
    return _my_prep_read(session, settings=settings, appointment=appointment, author_id=me)


def shared_prep(
    session: Session, *, settings: Settings, membership: Membership
) -> list[SharedPrepRead]:
    """What others prepared and shared with the caller, for every appointment of the couple,
    newest appointment first. The caller's own preparation is not repeated here."""
    me, couple_id = membership.user_id, membership.couple_id
    rows = session.exec(
        select(PrepSection, Appointment)
        .join(Appointment, col(Appointment.id) == PrepSection.appointment_id)
        .where(
            PrepSection.couple_id == couple_id,
            PrepSection.author_id != me,
            or_(
                col(PrepSection.partner_reader_id) == me, col(PrepSection.therapist_reader_id) == me
            ),
        )
    ).all()
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    groups: dict[tuple[uuid.UUID, uuid.UUID], tuple[Appointment, list[PrepSection]]] = {}
    for row, appointment in rows:
        groups.setdefault((appointment.id, row.author_id), (appointment, []))[1].append(row)
    answers = []
    for (_appointment_id, author_id), (appointment, sections) in groups.items():
        texts = {row.id: _open_section(keyring, row) for row in sections}
        answers.append(
            SharedPrepRead(
                author_id=author_id,
                appointment_id=appointment.id,
                appointment_starts_at=appointment.starts_at,
                sections=_sections(sections, texts, blanks=False),
            )
        )
    answers.sort(key=lambda a: (a.appointment_starts_at, str(a.author_id)), reverse=True)
    if membership.role == Role.therapist:
        audit.record_reads(
            session,
            action="prep.read_by_therapist",
            reader_id=me,
            couple_id=couple_id,
            author_ids={a.author_id for a in answers},
        )
    return answers


def shared_for_appointment(
    session: Session, *, keyring: crypto.Keyring, appointment: Appointment, reader_id: uuid.UUID
) -> list[SharedPrepRead]:
    """What others prepared for one appointment and shared with `reader_id`, by author. Only
    reads: a caller that shows it to a therapist records the read (`audit.record_reads`)."""
    rows = list(
        session.exec(
            select(PrepSection).where(
                PrepSection.appointment_id == appointment.id,
                PrepSection.author_id != reader_id,
                or_(
                    col(PrepSection.partner_reader_id) == reader_id,
                    col(PrepSection.therapist_reader_id) == reader_id,
                ),
            )
        ).all()
    )
    by_author: dict[uuid.UUID, list[PrepSection]] = {}
    for row in rows:
        by_author.setdefault(row.author_id, []).append(row)
    answers = []
    for author_id, sections in sorted(by_author.items(), key=lambda kv: str(kv[0])):
        texts = {row.id: _open_section(keyring, row) for row in sections}
        answers.append(
            SharedPrepRead(
                author_id=author_id,
                appointment_id=appointment.id,
                appointment_starts_at=appointment.starts_at,
                sections=_sections(sections, texts, blanks=False),
            )
        )
    return answers


# --- export and deletion (accounts/person_data.py) ------------------------------------------


def export_authored(session: Session, *, settings: Settings, user: User) -> list[dict[str, Any]]:
    """Every preparation the person wrote, opened, newest appointment first."""
    rows: list[tuple[Section, Appointment]] = []
    for table in TABLES:
        rows += session.exec(
            select(table, Appointment)
            .join(Appointment, col(Appointment.id) == table.appointment_id)
            .where(table.author_id == user.id)
        ).all()
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    groups: dict[uuid.UUID, tuple[Appointment, list[Section]]] = {}
    for row, appointment in rows:
        groups.setdefault(appointment.id, (appointment, []))[1].append(row)
    preparations = []
    for appointment, sections in sorted(
        groups.values(), key=lambda g: g[0].starts_at, reverse=True
    ):
        texts = {row.id: _open_section(keyring, row) for row in sections}
        preparations.append(
            {
                "couple_id": str(appointment.couple_id),
                **PrepRead(
                    appointment_id=appointment.id,
                    appointment_starts_at=appointment.starts_at,
                    sections=_sections(sections, texts, blanks=False),
                ).model_dump(mode="json"),
            }
        )
    return preparations


def delete_authored(session: Session, *, user_id: uuid.UUID) -> None:
    """Remove every preparation the person wrote (the caller commits)."""
    for table in (PrepSection, PrivatePrepSection):
        session.execute(delete(table).where(col(table.author_id) == user_id))
