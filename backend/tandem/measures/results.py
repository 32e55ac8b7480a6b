"""Reading answers: the respondent's own history, the therapist's view item by item, one
result shared with the partner, risk flags; and export and deletion of a person's answers.

Answers and scores are sealed with the respondent's data key, bound to this table, the row and
the respondent (`tandem.crypto`); every therapist read is recorded in the access log.
"""

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Membership
from tandem.measures import catalogue, scoring
from tandem.measures.models import (
    AnswerRead,
    CustomMeasure,
    FlagCountRead,
    Goal,
    LatestResultRead,
    MeasureRespondent,
    MeasureResponse,
    ResultRead,
    RiskFlag,
    RiskFlagRead,
    TherapistResultRead,
)
from tandem.measures.scoring import Measure

TABLE = MeasureResponse.__tablename__
FIELD = "result"


def seal(keyring: crypto.Keyring, row: MeasureResponse, result: dict[str, Any]) -> None:
    row.sealed_result = keyring.seal(
        json.dumps(result, sort_keys=True),
        table=TABLE,
        row_id=row.id,
        author_id=row.respondent_id,
        field=FIELD,
    )


def open_result(keyring: crypto.Keyring, row: MeasureResponse) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        keyring.open(
            row.sealed_result,
            table=TABLE,
            row_id=row.id,
            author_id=row.respondent_id,
            field=FIELD,
        )
    )
    return result


def band(band: scoring.Band | None) -> dict[str, Any] | None:
    return None if band is None else dict(band.__dict__)


# --- reading results ----------------------------------------------------------------------


def _answers(measure: Measure | None, answers: dict[str, int | None]) -> list[AnswerRead]:
    if measure is None:
        return [AnswerRead(item_key=k, text=k, value=v, label=None) for k, v in answers.items()]
    read = []
    for item in measure.items:
        value = answers.get(item.key)
        label = next((o.label for o in item.options if o.value == value), None)
        read.append(AnswerRead(item_key=item.key, text=item.text, value=value, label=label))
    return read


def _results(
    session: Session,
    *,
    settings: Settings,
    rows: list[MeasureResponse],
    therapist: bool,
    changes: bool = True,
) -> list[ResultRead]:
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    measures: dict[str, Measure | None] = {}
    firsts: dict[tuple[uuid.UUID, str], int] = {}
    answers: list[ResultRead] = []
    for row in sorted(rows, key=lambda r: r.submitted_at):
        if row.measure_key not in measures:
            measures[row.measure_key] = catalogue.find(session, row.measure_key)
        measure = measures[row.measure_key]
        result = open_result(keyring, row)
        series = (row.respondent_id, row.measure_key)
        later = series in firsts
        first = firsts.setdefault(series, result["total"])
        common = {
            "id": row.id,
            "respondent_id": row.respondent_id,
            "measure_key": row.measure_key,
            "measure_title": measure.title if measure else row.measure_key,
            "total": result["total"],
            "max_total": measure.max_total if measure else result["total"],
            "subscales": result["subscales"],
            "band": result["band"],
            "submitted_at": row.submitted_at,
            "reliable_change": (
                scoring.reliable_change(measure, first, result["total"])
                if changes and measure and later
                else None
            ),
            "shared": row.shared_with_id is not None,
        }
        if therapist:
            answers.append(
                TherapistResultRead(
                    **common,
                    answers=_answers(measure, result["answers"]),
                    risk=bool(result["risk_items"]),
                )
            )
        else:
            answers.append(ResultRead(**common))
    return answers


def results(
    session: Session,
    *,
    settings: Settings,
    membership: Membership,
    respondent_id: uuid.UUID | None,
    measure_key: str | None,
) -> list[Any]:
    """Oldest first. A partner reads their own only (another person's id is a 404)."""
    me = membership.user_id
    query = select(MeasureResponse).where(MeasureResponse.couple_id == membership.couple_id)
    therapist = membership.role == Role.therapist
    if therapist:
        query = query.where(MeasureResponse.therapist_reader_id == me)
        if respondent_id is not None:
            query = query.where(MeasureResponse.respondent_id == respondent_id)
    else:
        if respondent_id is not None and respondent_id != me:
            raise NotFound()
        query = query.where(MeasureResponse.respondent_id == me)
    if measure_key is not None:
        query = query.where(MeasureResponse.measure_key == measure_key)
    rows = list(session.exec(query.order_by(col(MeasureResponse.submitted_at))).all())
    answers = _results(session, settings=settings, rows=rows, therapist=therapist)
    if therapist:
        audit.record_reads(
            session,
            action="measures.read_by_therapist",
            reader_id=me,
            couple_id=membership.couple_id,
            author_ids={row.respondent_id for row in rows},
        )
    return answers


def latest(
    session: Session,
    *,
    settings: Settings,
    couple_id: uuid.UUID,
    therapist_id: uuid.UUID,
    before: datetime,
) -> list[LatestResultRead]:
    """Each person's latest score per questionnaire given before `before`, against their
    first, as this therapist may read them (answers given for them). The caller records the
    read in the access log (the respondents are in the answer)."""
    rows = session.exec(
        select(MeasureResponse)
        .where(
            MeasureResponse.couple_id == couple_id,
            MeasureResponse.therapist_reader_id == therapist_id,
            col(MeasureResponse.submitted_at) < before,
        )
        .order_by(col(MeasureResponse.submitted_at))
    ).all()
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    series: dict[tuple[uuid.UUID, str], list[MeasureResponse]] = {}
    for row in rows:
        series.setdefault((row.respondent_id, row.measure_key), []).append(row)
    found = []
    for (respondent, key), answers in series.items():
        measure = catalogue.find(session, key)
        # Only the first and the latest are opened: the others are not shown here.
        first, last = answers[0], answers[-1]
        first_result, result = open_result(keyring, first), open_result(keyring, last)
        later = len(answers) > 1
        found.append(
            LatestResultRead(
                respondent_id=respondent,
                measure_key=key,
                measure_title=measure.title if measure else key,
                total=result["total"],
                max_total=measure.max_total if measure else result["total"],
                band=result["band"],
                submitted_at=last.submitted_at,
                higher_is=measure.higher_is if measure else "worse",
                count=len(answers),
                first_total=first_result["total"],
                first_at=first.submitted_at,
                change=result["total"] - first_result["total"] if later else None,
                reliable_change=(
                    scoring.reliable_change(measure, first_result["total"], result["total"])
                    if measure and later
                    else None
                ),
                risk=bool(result["risk_items"]),
            )
        )
    return found


def shared_with_me(
    session: Session, *, settings: Settings, membership: Membership
) -> list[ResultRead]:
    rows = list(
        session.exec(
            select(MeasureResponse).where(
                MeasureResponse.couple_id == membership.couple_id,
                MeasureResponse.shared_with_id == membership.user_id,
            )
        ).all()
    )
    return _results(session, settings=settings, rows=rows, therapist=False, changes=False)


def _own_response(session: Session, *, user: User, response_id: uuid.UUID) -> MeasureResponse:
    row = session.get(MeasureResponse, response_id)
    if row is None or row.respondent_id != user.id:
        raise NotFound()
    if couples.active_membership(session, user_id=user.id, couple_id=row.couple_id) is None:
        raise NotFound()
    return row


def share(
    session: Session, *, settings: Settings, user: User, response_id: uuid.UUID, on: bool
) -> ResultRead:
    """Show one of my results (score and band, never the answers) to my partner, or stop."""
    row = _own_response(session, user=user, response_id=response_id)
    if on:
        partner = next(
            (p for p in couples.partner_ids(session, row.couple_id) if p != user.id), None
        )
        if partner is None:
            raise Conflict("There is no partner in your couple to share this with yet.")
        row.shared_with_id, row.shared_at = partner, utcnow()
    else:
        row.shared_with_id, row.shared_at = None, None
    session.add(row)
    session.commit()
    return _results(session, settings=settings, rows=[row], therapist=False, changes=False)[0]


# --- risk flags ---------------------------------------------------------------------------


def risk_flags(session: Session, *, membership: Membership) -> list[RiskFlagRead]:
    rows = session.exec(
        select(RiskFlag, MeasureResponse.measure_key)
        .join(MeasureResponse, col(MeasureResponse.id) == RiskFlag.response_id)
        .where(
            RiskFlag.couple_id == membership.couple_id,
            RiskFlag.therapist_id == membership.user_id,
            col(RiskFlag.cleared_at).is_(None),
        )
        .order_by(col(RiskFlag.raised_at).desc())
    ).all()
    flags = [
        RiskFlagRead(
            id=flag.id,
            couple_id=flag.couple_id,
            respondent_id=flag.respondent_id,
            response_id=flag.response_id,
            measure_key=key,
            raised_at=flag.raised_at,
        )
        for flag, key in rows
    ]
    audit.record_reads(
        session,
        action="measures.risk_read_by_therapist",
        reader_id=membership.user_id,
        couple_id=membership.couple_id,
        author_ids={flag.respondent_id for flag in flags},
    )
    return flags


def clear_flag(session: Session, *, user: User, flag_id: uuid.UUID) -> None:
    flag = session.get(RiskFlag, flag_id)
    if flag is None or flag.therapist_id != user.id:
        raise NotFound()
    membership = couples.active_membership(session, user_id=user.id, couple_id=flag.couple_id)
    if membership is None or membership.role != Role.therapist:
        raise NotFound()
    if flag.cleared_at is not None:
        raise Conflict("This flag was already cleared.")
    flag.cleared_at, flag.cleared_by = utcnow(), user.id
    session.add(flag)
    audit.record(
        session,
        action="measures.risk_cleared",
        actor_id=user.id,
        couple_id=flag.couple_id,
        subject_user_id=flag.respondent_id,
    )
    session.commit()


def open_flag_counts(session: Session, *, user: User) -> list[FlagCountRead]:
    """Open flags per couple the therapist is still caring for (no names, no content)."""
    counts: dict[uuid.UUID, int] = {}
    for couple_id in session.exec(
        select(RiskFlag.couple_id)
        .join(
            Membership,
            (col(Membership.couple_id) == RiskFlag.couple_id)
            & (col(Membership.user_id) == user.id),
        )
        .where(
            RiskFlag.therapist_id == user.id,
            col(RiskFlag.cleared_at).is_(None),
            col(Membership.left_at).is_(None),
        )
    ):
        counts[couple_id] = counts.get(couple_id, 0) + 1
    return [FlagCountRead(couple_id=c, open=n) for c, n in counts.items()]


# --- export and deletion (accounts/person_data.py) ------------------------------------------


def export_authored(session: Session, *, settings: Settings, user: User) -> dict[str, Any]:
    rows = list(
        session.exec(select(MeasureResponse).where(MeasureResponse.respondent_id == user.id))
    )
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    responses = []
    for row in sorted(rows, key=lambda r: r.submitted_at, reverse=True):
        result = open_result(keyring, row)
        responses.append(
            {
                "id": str(row.id),
                "couple_id": str(row.couple_id),
                "measure_key": row.measure_key,
                "submitted_at": row.submitted_at.isoformat(),
                "answers": result["answers"],
                "total": result["total"],
                "subscales": result["subscales"],
                "band": result["band"],
                "shared_with_partner": row.shared_with_id is not None,
            }
        )
    return {
        "questionnaire_responses": responses,
        "custom_measures": catalogue.export_custom(session, user=user),
    }


def delete_authored(session: Session, *, user_id: uuid.UUID) -> None:
    """Remove the person's answers (their flags go with them) and their place as a
    respondent; custom measures stay for the couples that answered them (the caller commits)."""
    session.execute(delete(RiskFlag).where(col(RiskFlag.respondent_id) == user_id))
    session.execute(delete(MeasureResponse).where(col(MeasureResponse.respondent_id) == user_id))
    session.execute(delete(MeasureRespondent).where(col(MeasureRespondent.user_id) == user_id))
    session.execute(delete(Goal).where(col(Goal.owner_id) == user_id))
    session.execute(
        update(CustomMeasure).where(col(CustomMeasure.owner_id) == user_id).values(owner_id=None)
    )
