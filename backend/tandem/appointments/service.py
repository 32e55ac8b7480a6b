"""Therapist profiles, invitation previews, next appointments and session preparation."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem import audit, crypto, throttle
from tandem.accounts.models import Role, User
from tandem.appointments.models import (
    PREP_KEYS,
    PROFILE_FIELDS,
    Appointment,
    AppointmentSet,
    InvitationPreview,
    PrepBody,
    PrepRead,
    PrepSection,
    PrepSectionRead,
    SharedPrepRead,
    TherapistProfile,
    TherapistProfileBody,
    TherapistProfileRead,
)
from tandem.config import Settings
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.db import utcnow, write_session
from tandem.errors import Conflict, Invalid, NotFound
from tandem.journal.models import Visibility
from tandem.reminders import clock, outbox
from tandem.reminders.models import Kind, ReminderPreference

# Far enough for any real booking, near enough to catch a mistyped year.
BOOKING_HORIZON = timedelta(days=2 * 366)
# The day-before reminder goes out at this local time (later, if it falls in quiet hours).
REMINDER_TIME = time(18, 0)
NO_INVITATION = "This invitation code is not valid, was already used or has expired"


# --- therapist profile --------------------------------------------------------------------


def profile_of(session: Session, user_id: uuid.UUID) -> TherapistProfileRead:
    """A therapist's profile as others see it; the account's name stands in for a blank one."""
    user = session.get(User, user_id)
    row = session.get(TherapistProfile, user_id)
    read = TherapistProfileRead.model_validate(row) if row else TherapistProfileRead()
    if not read.display_name and user is not None and user.deleted_at is None:
        read.display_name = user.display_name
    return read


def my_profile(session: Session, *, user: User) -> TherapistProfileRead:
    row = session.get(TherapistProfile, user.id)
    return TherapistProfileRead.model_validate(row) if row else TherapistProfileRead()


def put_my_profile(
    session: Session, *, user: User, data: TherapistProfileBody
) -> TherapistProfileRead:
    row = session.get(TherapistProfile, user.id) or TherapistProfile(user_id=user.id)
    for name in PROFILE_FIELDS:
        setattr(row, name, getattr(data, name))
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return TherapistProfileRead.model_validate(row)


def couple_therapist_profile(session: Session, *, couple_id: uuid.UUID) -> TherapistProfileRead:
    therapist_id = couples.therapist_id(session, couple_id)
    if therapist_id is None:
        raise NotFound("This couple has no therapist")
    return profile_of(session, therapist_id)


def preview_invitation(
    session: Session, *, settings: Settings, code: str, address: str | None
) -> InvitationPreview:
    """What someone holding a code may know before accepting: the role offered and who the
    couple's therapist is. Nothing about the couple or its partners, and for a bad code
    nothing at all (one answer for unknown, used, revoked and expired)."""
    keys = couples.invitation_throttle_keys(settings, user=None, address=address)
    throttle.check(session, keys)
    invitation = couples.find_usable_invitation(session, code)
    if invitation is None:
        _count_failure(session, keys)
        raise NotFound(NO_INVITATION)
    therapist = None
    if invitation.role == Role.partner:
        therapist_id = couples.therapist_id(session, invitation.couple_id)
        if therapist_id is not None:
            therapist = profile_of(session, therapist_id)
    # A therapist invitation: the invitee is the therapist, so there is nobody to show.
    return InvitationPreview(role=invitation.role, therapist=therapist)


def _count_failure(session: Session, keys: list[str]) -> None:
    # End the request's transaction first, then write in a session that takes SQLite's write
    # lock up front (the preview's GET form reads in a deferred transaction).
    session.commit()
    with write_session(session.get_bind()) as counter:  # type: ignore[arg-type]
        throttle.fail(counter, keys)
        counter.commit()


# --- appointments -------------------------------------------------------------------------


def next_appointment(
    session: Session, *, couple_id: uuid.UUID, now: datetime | None = None
) -> Appointment | None:
    return session.exec(
        select(Appointment)
        .where(Appointment.couple_id == couple_id, col(Appointment.starts_at) > (now or utcnow()))
        .order_by(col(Appointment.starts_at))
    ).first()


def require_next_appointment(session: Session, *, couple_id: uuid.UUID) -> Appointment:
    appointment = next_appointment(session, couple_id=couple_id)
    if appointment is None:
        raise NotFound("No upcoming appointment")
    return appointment


def set_next_appointment(
    session: Session, *, membership: Membership, data: AppointmentSet
) -> Appointment:
    """Book the couple's next appointment, or move the one already booked (its preparation
    moves with it). Past appointments are history and never change."""
    now = utcnow()
    starts_at = data.starts_at.astimezone(UTC)
    if starts_at <= now:
        raise Invalid("The appointment must be in the future")
    if starts_at > now + BOOKING_HORIZON:
        raise Invalid("The appointment must be within the next two years")
    # Serialises two bookings for one couple on PostgreSQL (SQLite writers already are).
    session.exec(select(Couple.id).where(Couple.id == membership.couple_id).with_for_update())
    appointment = next_appointment(session, couple_id=membership.couple_id, now=now)
    if appointment is None:
        appointment = Appointment(couple_id=membership.couple_id)
    appointment.starts_at = starts_at
    appointment.note = data.note
    appointment.set_by = membership.user_id
    appointment.updated_at = now
    session.add(appointment)
    session.flush()
    _remind_partners(session, appointment=appointment, now=now)
    session.commit()
    return appointment


def reminder_prefix(appointment_id: uuid.UUID) -> str:
    return f"appointment:{appointment_id}:"


def _remind_partners(session: Session, *, appointment: Appointment, now: datetime) -> None:
    """Each partner hears the evening before, in their own time zone (the outbox moves it out
    of their quiet hours). Moving the appointment replaces reminders not yet sent; the key
    names the time, so a reminder already sent for the old time does not block the new one."""
    outbox.cancel_pending(session, dedupe_prefix=reminder_prefix(appointment.id))
    stamp = int(appointment.starts_at.timestamp())
    for member, user in couples.active_members(session, appointment.couple_id):
        if member.role != Role.partner:
            continue
        pref = session.get(ReminderPreference, user.id)
        zone = ZoneInfo(pref.timezone if pref else user.timezone)
        local_day = appointment.starts_at.astimezone(zone).date()
        if local_day <= now.astimezone(zone).date():
            # Today already: "tomorrow" would be wrong, and they were just told.
            continue
        due_at = max(now, clock.occurrence(local_day - timedelta(days=1), REMINDER_TIME, zone))
        outbox.enqueue_event(
            session,
            user_id=user.id,
            kind=Kind.appointment,
            payload={"appointment_id": str(appointment.id), "url": "/#/prep"},
            dedupe_key=f"{reminder_prefix(appointment.id)}{user.id}:{stamp}",
            now=due_at,
            expires_at=appointment.starts_at,
        )


# --- session preparation ------------------------------------------------------------------

PREP_TABLE = PrepSection.__tablename__
PREP_FIELD = "text"


def _open_section(keyring: crypto.Keyring, row: PrepSection) -> str:
    return keyring.open(
        row.sealed_text,
        table=PREP_TABLE,
        row_id=row.id,
        author_id=row.author_id,
        field=PREP_FIELD,
    )


def _seal_section(keyring: crypto.Keyring, row: PrepSection, text: str) -> None:
    # Bound to this table, row and author: a ciphertext copied elsewhere fails to open.
    row.sealed_text = keyring.seal(
        text, table=PREP_TABLE, row_id=row.id, author_id=row.author_id, field=PREP_FIELD
    )


def _readers(
    session: Session, *, couple_id: uuid.UUID, author_id: uuid.UUID, visibility: Visibility
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(partner reader, therapist reader): who holds those places now, for this visibility.
    Recorded on the row, so a partner or therapist who joins later reads nothing of it."""
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


def _sections(
    rows: list[PrepSection], texts: dict[uuid.UUID, str], *, blanks: bool
) -> list[PrepSectionRead]:
    by_key = {row.key: row for row in rows}
    sections = []
    for key in PREP_KEYS:
        row = by_key.get(key)
        if row is not None:
            sections.append(
                PrepSectionRead(key=key, text=texts[row.id], visibility=Visibility(row.visibility))
            )
        elif blanks:
            sections.append(PrepSectionRead(key=key, text="", visibility=Visibility.therapist))
    return sections


def _my_rows(
    session: Session, *, appointment_id: uuid.UUID, author_id: uuid.UUID
) -> list[PrepSection]:
    return list(
        session.exec(
            select(PrepSection).where(
                PrepSection.appointment_id == appointment_id, PrepSection.author_id == author_id
            )
        ).all()
    )


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
        if not section.text:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = PrepSection(
                couple_id=couple_id,
                appointment_id=appointment.id,
                author_id=me,
                key=section.key,
                visibility=section.visibility,
            )
            row.partner_reader_id, row.therapist_reader_id = _readers(
                session, couple_id=couple_id, author_id=me, visibility=section.visibility
            )
        elif row.visibility != section.visibility:
            row.visibility = section.visibility
            row.partner_reader_id, row.therapist_reader_id = _readers(
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
        _record_therapist_read(
            session, therapist_id=me, couple_id=couple_id, authors={a.author_id for a in answers}
        )
    return answers


def _record_therapist_read(
    session: Session, *, therapist_id: uuid.UUID, couple_id: uuid.UUID, authors: set[uuid.UUID]
) -> None:
    """One access-log event per partner whose preparation the therapist was shown, committed
    before anything is served; in a write session of its own (see the journal's reason)."""
    if not authors:
        return
    session.commit()
    with write_session(session.get_bind()) as log_session:  # type: ignore[arg-type]
        for author_id in sorted(authors):
            audit.record(
                log_session,
                action="prep.read_by_therapist",
                actor_id=therapist_id,
                couple_id=couple_id,
                subject_user_id=author_id,
            )
        log_session.commit()


# --- export and deletion (through tandem.content) -----------------------------------------


def export_authored(session: Session, *, settings: Settings, user: User) -> dict[str, Any]:
    """Every preparation the person wrote, opened, and their therapist profile."""
    rows = session.exec(
        select(PrepSection, Appointment)
        .join(Appointment, col(Appointment.id) == PrepSection.appointment_id)
        .where(PrepSection.author_id == user.id)
    ).all()
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    groups: dict[uuid.UUID, tuple[Appointment, list[PrepSection]]] = {}
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
    exported: dict[str, Any] = {"preparations": preparations}
    profile = session.get(TherapistProfile, user.id)
    if profile is not None:
        exported["therapist_profile"] = TherapistProfileRead.model_validate(profile).model_dump(
            mode="json"
        )
    return exported


def delete_authored(session: Session, *, user_id: uuid.UUID) -> None:
    """Remove every preparation the person wrote and their profile (the caller commits).
    Appointments belong to the couple and stay."""
    session.execute(delete(PrepSection).where(col(PrepSection.author_id) == user_id))
    session.execute(delete(TherapistProfile).where(col(TherapistProfile.user_id) == user_id))
