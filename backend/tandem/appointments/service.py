"""Therapist profiles, invitation previews, next appointments and session preparation."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.appointments.models import (
    PROFILE_FIELDS,
    Appointment,
    AppointmentSet,
    InvitationPreview,
    TherapistProfile,
    TherapistProfileBody,
    TherapistProfileRead,
)
from tandem.core import throttle
from tandem.core.config import Settings
from tandem.core.db import utcnow, write_session
from tandem.core.errors import Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.reminders import clock, outbox
from tandem.reminders.models import NotificationKind, ReminderPreference

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
    _write_apart(session, throttle.attempt, keys)
    invitation = couples.find_usable_invitation(session, code)
    if invitation is None:
        raise NotFound(NO_INVITATION)
    _write_apart(session, throttle.succeeded, keys)
    therapist = None
    if invitation.role == Role.partner:
        therapist_id = couples.therapist_id(session, invitation.couple_id)
        if therapist_id is not None:
            therapist = profile_of(session, therapist_id)
    # A therapist invitation: the invitee is the therapist, so there is nobody to show.
    return InvitationPreview(role=invitation.role, therapist=therapist)


def _write_apart(
    session: Session,
    count: Callable[[Session, list[throttle.Key]], None],
    keys: list[throttle.Key],
) -> None:
    """Count (or give back) an attempt, committed at once: end the request's transaction
    first, then write in a session that takes SQLite's write lock up front (the preview's GET
    form reads in a deferred transaction)."""
    session.commit()
    with write_session(session.get_bind()) as counter:
        count(counter, keys)
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
            kind=NotificationKind.appointment,
            payload={"appointment_id": str(appointment.id), "url": "/#/prep"},
            dedupe_key=f"{reminder_prefix(appointment.id)}{user.id}:{stamp}",
            now=due_at,
            expires_at=appointment.starts_at,
        )


# --- export and deletion (accounts/person_data.py) ------------------------------------------


def export_profile(session: Session, *, user: User) -> dict[str, Any]:
    """The therapist profile, if the person has one (their preparations: prep.py)."""
    profile = session.get(TherapistProfile, user.id)
    if profile is None:
        return {}
    return {
        "therapist_profile": TherapistProfileRead.model_validate(profile).model_dump(mode="json")
    }


def delete_profile(session: Session, *, user_id: uuid.UUID) -> None:
    """Remove the person's profile (the caller commits). Appointments belong to the couple and
    stay."""
    session.execute(delete(TherapistProfile).where(col(TherapistProfile.user_id) == user_id))
