"""Assigning questionnaires, what is due for whom, and answering.

A partner's due questionnaires and answers are theirs and their therapist's: nothing here
tells the other partner that something is due or was answered (see `results` for reading).
"""

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.measures import catalogue, due, results, schedule, scoring
from tandem.measures import reminders as measure_reminders
from tandem.measures.models import (
    AssignmentBody,
    AssignmentRead,
    BandRead,
    Cadence,
    DueRead,
    MeasureAssignment,
    MeasureRespondent,
    MeasureResponse,
    ResponseBody,
    ResponseCreated,
    RiskFlag,
)
from tandem.measures.scoring import Measure
from tandem.reminders import outbox


class AnswerProblems(Invalid):
    """422 with one plain sentence per question at fault, placed by `loc` next to it."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__()
        self.detail = [
            {"loc": ["body", "answers", key], "msg": message, "type": "answer"}
            for key, message in problems
        ]


# --- assignments --------------------------------------------------------------------------


def _respondents(
    session: Session, assignment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in assignment_ids}
    if assignment_ids:
        for row in session.exec(
            select(MeasureRespondent).where(
                col(MeasureRespondent.assignment_id).in_(assignment_ids)
            )
        ):
            found[row.assignment_id].append(row.user_id)
    return found


def _assignment_read(
    session: Session, assignment: MeasureAssignment, respondent_ids: list[uuid.UUID]
) -> AssignmentRead:
    measure = catalogue.find(session, assignment.measure_key)
    return AssignmentRead(
        id=assignment.id,
        couple_id=assignment.couple_id,
        measure_key=assignment.measure_key,
        measure_title=measure.title if measure else assignment.measure_key,
        respondent_ids=sorted(respondent_ids, key=str),
        cadence=Cadence(assignment.cadence),
        allow_short_interval=assignment.allow_short_interval,
        created_at=assignment.created_at,
    )


def _check_interval(measure: Measure, data: AssignmentBody) -> None:
    days = schedule.CADENCE_DAYS.get(data.cadence)
    if days is None or not measure.recall_days or data.allow_short_interval:
        return
    if days < measure.recall_days:
        raise Invalid(
            f"{measure.title} asks about the last {measure.recall_days} days, so answers given "
            f"every {days} days would overlap. Choose a longer interval, or confirm that you "
            "want it this often."
        )


def assign(session: Session, *, membership: Membership, data: AssignmentBody) -> AssignmentRead:
    measure = catalogue.usable_by(session, key=data.measure_key, therapist_id=membership.user_id)
    if measure is None:
        raise Invalid("There is no questionnaire with that key in your library.")
    partners = set(couples.partner_ids(session, membership.couple_id))
    wanted = set(data.respondent_ids)
    if len(wanted) != len(data.respondent_ids) or not wanted <= partners:
        raise Invalid("Each person who answers must be one of this couple's partners, once.")
    _check_interval(measure, data)
    # Serialises two assignments for one couple on PostgreSQL (SQLite writers already are).
    session.exec(select(Couple.id).where(Couple.id == membership.couple_id).with_for_update())
    taken = session.exec(
        select(MeasureRespondent.user_id)
        .join(MeasureAssignment, col(MeasureAssignment.id) == MeasureRespondent.assignment_id)
        .where(
            MeasureAssignment.couple_id == membership.couple_id,
            MeasureAssignment.measure_key == data.measure_key,
            col(MeasureAssignment.ended_at).is_(None),
            col(MeasureRespondent.user_id).in_(wanted),
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"{measure.title} is already assigned to that person; remove that assignment first."
        )
    now = utcnow()
    assignment = MeasureAssignment(
        couple_id=membership.couple_id,
        measure_key=data.measure_key,
        cadence=data.cadence,
        allow_short_interval=data.allow_short_interval,
        created_by=membership.user_id,
        created_at=now,
        next_reminder_at=now,
    )
    session.add(assignment)
    session.flush()
    for user_id in sorted(wanted, key=str):
        session.add(MeasureRespondent(assignment_id=assignment.id, user_id=user_id))
    session.flush()
    couple = session.get(Couple, membership.couple_id)
    assert couple is not None
    measure_reminders.plan_assignment(session, assignment=assignment, couple=couple, now=now)
    session.commit()
    return _assignment_read(session, assignment, list(wanted))


def list_assignments(session: Session, *, membership: Membership) -> list[AssignmentRead]:
    rows = session.exec(
        select(MeasureAssignment)
        .where(
            MeasureAssignment.couple_id == membership.couple_id,
            col(MeasureAssignment.ended_at).is_(None),
        )
        .order_by(col(MeasureAssignment.created_at).desc())
    ).all()
    respondents = _respondents(session, [row.id for row in rows])
    return [_assignment_read(session, row, respondents[row.id]) for row in rows]


def end_assignment(session: Session, *, user: User, assignment_id: uuid.UUID) -> None:
    assignment = session.get(MeasureAssignment, assignment_id)
    if assignment is None or assignment.ended_at is not None:
        raise NotFound()
    membership = couples.active_membership(session, user_id=user.id, couple_id=assignment.couple_id)
    if membership is None or membership.role != Role.therapist:
        raise NotFound()
    assignment.ended_at = utcnow()
    assignment.next_reminder_at = None
    session.add(assignment)
    outbox.cancel_pending(session, dedupe_prefix=measure_reminders.prefix(assignment.id))
    session.commit()


# --- due and answering --------------------------------------------------------------------


def _my_assignments(session: Session, *, user: User) -> list[tuple[MeasureAssignment, Couple]]:
    """Open assignments naming this person, in couples they are still an active partner of."""
    rows = session.exec(
        select(MeasureAssignment, Couple)
        .join(MeasureRespondent, col(MeasureRespondent.assignment_id) == MeasureAssignment.id)
        .join(Couple, col(Couple.id) == MeasureAssignment.couple_id)
        .join(
            Membership,
            (col(Membership.couple_id) == MeasureAssignment.couple_id)
            & (col(Membership.user_id) == user.id),
        )
        .where(
            MeasureRespondent.user_id == user.id,
            col(MeasureAssignment.ended_at).is_(None),
            col(Membership.left_at).is_(None),
            Membership.role == Role.partner,
        )
        .order_by(col(MeasureAssignment.created_at))
    ).all()
    return [(assignment, couple) for assignment, couple in rows]


def my_due(session: Session, *, user: User, now: datetime | None = None) -> list[DueRead]:
    now = now or utcnow()
    found = []
    for assignment, couple in _my_assignments(session, user=user):
        measure = catalogue.find(session, assignment.measure_key)
        if measure is None:
            continue
        occurrence = due.due_occurrence(
            session,
            assignment=assignment,
            couple=couple,
            measure=measure,
            user_id=user.id,
            now=now,
        )
        if occurrence is None:
            continue
        found.append(
            DueRead(
                assignment_id=assignment.id,
                couple_id=couple.id,
                occurrence_key=occurrence.key,
                due_until=occurrence.closes_at,
                measure=catalogue.read(measure),
            )
        )
    return found


def submit(
    session: Session, *, settings: Settings, user: User, data: ResponseBody
) -> ResponseCreated:
    assignment = session.get(MeasureAssignment, data.assignment_id)
    mine = assignment is not None and any(
        a.id == assignment.id for a, _c in _my_assignments(session, user=user)
    )
    if assignment is None or not mine:
        raise NotFound()
    couple = session.get(Couple, assignment.couple_id)
    measure = catalogue.find(session, assignment.measure_key)
    if couple is None or measure is None:
        raise NotFound()
    now = utcnow()
    occurrence = due.current_occurrence(session, assignment=assignment, couple=couple, now=now)
    if occurrence is None or not schedule.open_now(occurrence, now):
        raise Conflict("This questionnaire is not due now.")
    if due.answered(
        session, assignment_id=assignment.id, user_id=user.id, occurrence_key=occurrence.key
    ):
        raise Conflict("You have already answered this questionnaire for this time.")
    if due.too_soon(
        session, assignment=assignment, measure=measure, user_id=user.id, occurrence=occurrence
    ):
        raise Conflict("This questionnaire is not due now.")
    problems = scoring.problems(measure, data.answers)
    if problems:
        raise AnswerProblems(problems)
    result = scoring.score(measure, data.answers)
    row = MeasureResponse(
        couple_id=couple.id,
        assignment_id=assignment.id,
        respondent_id=user.id,
        measure_key=measure.key,
        occurrence_key=occurrence.key,
        therapist_reader_id=couples.therapist_id(session, couple.id),
        submitted_at=now,
        sealed_result=b"",  # sealed just below, with the row's id
    )
    results.seal(
        crypto.Keyring(session, settings.key_encryption_key),
        row,
        {
            "answers": {item.key: data.answers.get(item.key) for item in measure.items},
            "total": result.total,
            "subscales": result.subscales,
            "band": results.band(result.band),
            "risk_items": list(result.risk_items),
        },
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("You have already answered this questionnaire for this time.") from exc
    if result.risk:
        session.add(
            RiskFlag(
                couple_id=couple.id,
                response_id=row.id,
                respondent_id=user.id,
                therapist_id=row.therapist_reader_id,
                raised_at=now,
            )
        )
    outbox.cancel_pending(
        session,
        dedupe_prefix=measure_reminders.prefix(assignment.id, user.id, occurrence.key),
    )
    session.commit()
    return ResponseCreated(
        id=row.id,
        measure_key=measure.key,
        total=result.total,
        subscales=result.subscales,
        band=None if result.band is None else BandRead.model_validate(result.band),
        risk=result.risk,
        submitted_at=row.submitted_at,
        crisis_resources=settings.crisis_resource_list if result.risk else [],
    )
