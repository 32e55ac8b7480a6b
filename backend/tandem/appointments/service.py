"""Therapist profiles, invitation previews, next appointments and session preparation."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from tandem import throttle
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
from tandem.config import Settings
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.db import utcnow, write_session
from tandem.errors import Invalid, NotFound

# Far enough for any real booking, near enough to catch a mistyped year.
BOOKING_HORIZON = timedelta(days=2 * 366)
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
    session.commit()
    return appointment
