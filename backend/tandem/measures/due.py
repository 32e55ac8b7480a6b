"""Whether a questionnaire is due for a person now: the assignment's current occurrence, not
yet answered, and (before an appointment) not within the recall period of the last answer."""

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tandem.appointments import service as appointments
from tandem.couples.models import Couple
from tandem.measures import schedule
from tandem.measures.models import Cadence, MeasureAssignment, MeasureResponse
from tandem.measures.schedule import Occurrence
from tandem.measures.scoring import Measure


def current_occurrence(
    session: Session, *, assignment: MeasureAssignment, couple: Couple, now: datetime
) -> Occurrence | None:
    cadence = Cadence(assignment.cadence)
    if cadence == Cadence.once:
        return schedule.once(created_at=assignment.created_at)
    if cadence == Cadence.before_appointment:
        appointment = appointments.next_appointment(session, couple_id=couple.id, now=now)
        if appointment is None:
            return None
        return schedule.before_appointment(
            appointment_id=appointment.id,
            starts_at=appointment.starts_at,
            timezone=couple.timezone,
            created_at=assignment.created_at,
        )
    return schedule.periodic(
        cadence, created_at=assignment.created_at, timezone=couple.timezone, now=now
    )


def answered(
    session: Session, *, assignment_id: uuid.UUID, user_id: uuid.UUID, occurrence_key: str
) -> bool:
    return (
        session.exec(
            select(MeasureResponse.id).where(
                MeasureResponse.assignment_id == assignment_id,
                MeasureResponse.respondent_id == user_id,
                MeasureResponse.occurrence_key == occurrence_key,
            )
        ).first()
        is not None
    )


def too_soon(
    session: Session,
    *,
    assignment: MeasureAssignment,
    measure: Measure,
    user_id: uuid.UUID,
    occurrence: Occurrence,
) -> bool:
    """Before an appointment, an instrument asking about the last N days is not asked again
    within N days of the last answer, unless the therapist chose so."""
    if (
        assignment.allow_short_interval
        or not measure.recall_days
        or assignment.cadence != Cadence.before_appointment
    ):
        return False
    since = occurrence.opens_at - timedelta(days=measure.recall_days)
    return (
        session.exec(
            select(MeasureResponse.id).where(
                MeasureResponse.couple_id == assignment.couple_id,
                MeasureResponse.respondent_id == user_id,
                MeasureResponse.measure_key == assignment.measure_key,
                col(MeasureResponse.submitted_at) > since,
            )
        ).first()
        is not None
    )


def due_occurrence(
    session: Session,
    *,
    assignment: MeasureAssignment,
    couple: Couple,
    measure: Measure,
    user_id: uuid.UUID,
    now: datetime,
) -> Occurrence | None:
    """The occurrence this person should answer now, or None."""
    occurrence = current_occurrence(session, assignment=assignment, couple=couple, now=now)
    if occurrence is None or not schedule.open_now(occurrence, now):
        return None
    if answered(
        session, assignment_id=assignment.id, user_id=user_id, occurrence_key=occurrence.key
    ):
        return None
    if too_soon(
        session, assignment=assignment, measure=measure, user_id=user_id, occurrence=occurrence
    ):
        return None
    return occurrence
