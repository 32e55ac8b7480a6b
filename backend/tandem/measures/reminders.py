"""Discreet reminders for due questionnaires, through the notification outbox.

Only the person who should answer hears anything, with the neutral text every notification
has (the payload carries opaque ids and a link, never a questionnaire's name). One reminder per
person per occurrence, on the local day it opens at REMINDER_TIME (the outbox moves it out of
quiet hours); answering cancels it, and it expires when the window closes.

The reminders domain sits below this one, so it does not import it: `plan` is registered as a
planner at start-up (measures/wiring.py), the scheduler calls it every round, and it looks at
an assignment again only when its `next_reminder_at` comes.
"""

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.couples.models import Couple, Membership
from tandem.measures import catalogue, due
from tandem.measures.models import Cadence, MeasureAssignment, MeasureRespondent
from tandem.reminders import clock, outbox
from tandem.reminders.models import NotificationKind, ReminderPreference

REMINDER_TIME = time(10, 0)
# How often an assignment waiting for an appointment to be booked is looked at again.
APPOINTMENT_POLL = timedelta(hours=1)
BATCH = 200


def prefix(assignment_id: uuid.UUID, user_id: uuid.UUID | None = None, key: str = "") -> str:
    """Dedupe-key prefix: one assignment, or one person's occurrence of it."""
    if user_id is None:
        return f"measure:{assignment_id}:"
    return f"measure:{assignment_id}:{user_id}:{key}"


def _respondents(session: Session, assignment: MeasureAssignment) -> list[User]:
    """The assignment's respondents who are still active partners of its couple."""
    return list(
        session.exec(
            select(User)
            .join(MeasureRespondent, col(MeasureRespondent.user_id) == User.id)
            .join(Membership, col(Membership.user_id) == User.id)
            .where(
                MeasureRespondent.assignment_id == assignment.id,
                Membership.couple_id == assignment.couple_id,
                col(Membership.left_at).is_(None),
                Membership.role == Role.partner,
            )
        ).all()
    )


def plan_assignment(
    session: Session, *, assignment: MeasureAssignment, couple: Couple, now: datetime
) -> None:
    """Queue the reminders of the occurrence open now (or opening next) and say when to look
    again; the caller commits."""
    measure = catalogue.find(session, assignment.measure_key)
    occurrence = due.current_occurrence(session, assignment=assignment, couple=couple, now=now)
    if measure is None or occurrence is None:
        assignment.next_reminder_at = (
            now + APPOINTMENT_POLL if assignment.cadence == Cadence.before_appointment else None
        )
        session.add(assignment)
        return
    if occurrence.opens_at > now:
        # Not open yet (the day before an appointment): come back when it opens.
        assignment.next_reminder_at = min(occurrence.opens_at, now + APPOINTMENT_POLL)
        session.add(assignment)
        return
    for user in _respondents(session, assignment):
        if due.due_occurrence(
            session,
            assignment=assignment,
            couple=couple,
            measure=measure,
            user_id=user.id,
            now=now,
        ):
            _remind(
                session,
                assignment=assignment,
                user=user,
                key=occurrence.key,
                now=now,
                opens_at=occurrence.opens_at,
                closes_at=occurrence.closes_at,
            )
    if assignment.cadence == Cadence.once:
        assignment.next_reminder_at = None
    elif assignment.cadence == Cadence.before_appointment:
        assignment.next_reminder_at = now + APPOINTMENT_POLL
    else:
        assignment.next_reminder_at = occurrence.closes_at
    session.add(assignment)


def _remind(
    session: Session,
    *,
    assignment: MeasureAssignment,
    user: User,
    key: str,
    now: datetime,
    opens_at: datetime,
    closes_at: datetime | None,
) -> None:
    pref = session.get(ReminderPreference, user.id)
    zone = ZoneInfo(pref.timezone if pref else user.timezone)
    due_at = max(now, clock.occurrence(opens_at.astimezone(zone).date(), REMINDER_TIME, zone))
    if closes_at is not None and due_at >= closes_at:
        due_at = now
    outbox.enqueue_event(
        session,
        user_id=user.id,
        kind=NotificationKind.measure_due,
        payload={"assignment_id": str(assignment.id), "url": "/"},
        dedupe_key=prefix(assignment.id, user.id, key),
        now=due_at,
        expires_at=closes_at,
    )


def plan(session: Session, now: datetime) -> int:
    """Every assignment whose time to look again has come; returns how many were planned."""
    rows = session.exec(
        select(MeasureAssignment, Couple)
        .join(Couple, col(Couple.id) == MeasureAssignment.couple_id)
        .where(
            col(MeasureAssignment.ended_at).is_(None),
            col(MeasureAssignment.next_reminder_at) <= now,
        )
        .order_by(col(MeasureAssignment.next_reminder_at))
        .limit(BATCH)
    ).all()
    for assignment, couple in rows:
        plan_assignment(session, assignment=assignment, couple=couple, now=now)
    return len(rows)
