"""The plan read, made for the path every partner's phone takes: one thread hop, four queries.

`service.plan_read` builds the same answer from ORM objects in about ten queries spread over
six threadpool hops (dependencies, route, response validation); under load that cost the read
most of its throughput (docs/BENCHMARKS.md, "Load"). Here the authentication and membership
checks, the plan, its items and their logs are read in one session on one worker thread, as
plain rows, and the answer is serialized once by pydantic. The rules are the same as the
dependencies' and the service's (tests/test_plan_reads.py holds both to the same answers).
"""

import uuid
from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import and_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.accounts import service as accounts
from tandem.accounts.models import Role
from tandem.couples.models import Couple, Membership
from tandem.errors import NotFound, Unauthorized
from tandem.exercises.models import Exercise, Mode
from tandem.plans import progress
from tandem.plans.models import (
    ItemProgress,
    LogStatus,
    PlanItem,
    PlanItemAssignee,
    PlanItemRead,
    PlanRead,
    PlanStatus,
    SessionLog,
    SessionLogRead,
    WeeklyPlan,
)
from tandem.schemas import parse_id
from tandem.security import AccessClaims

NO_PLAN = "No plan for this week"


def plan_json(
    engine: Engine, *, claims: AccessClaims, couple_id: str, week_start: str | None
) -> bytes:
    """The caller's view of a couple's plan (the current week's when `week_start` is None)."""
    with Session(engine) as session:
        # As deps.current_user: the sign-in session is checked on every request.
        user = accounts.user_for_access(
            session, user_id=claims.user_id, session_id=claims.session_id
        )
        if user is None:
            raise Unauthorized("Signed out")
        # As deps.couple_member, with the couple's time zone and partners in the same query.
        couple = parse_id(couple_id)
        members = session.exec(
            select(Membership.user_id, Membership.role, Couple.timezone)
            .join(Couple, col(Couple.id) == Membership.couple_id)
            .where(Membership.couple_id == couple, col(Membership.left_at).is_(None))
            .order_by(col(Membership.joined_at))
        ).all()
        role = next((r for uid, r, _ in members if uid == user.id), None)
        if role is None:
            raise NotFound()
        if week_start is None:
            week = progress.week_of(progress.local_today(members[0][2]))
        else:
            from tandem.plans.service import parse_week

            week = parse_week(week_start)
        partners = [uid for uid, r, _ in members if r == Role.partner]
        return _plan(session, couple, week, role, partners).model_dump_json().encode()


def _plan(
    session: Session, couple: uuid.UUID, week: date, role: str, partners: list[uuid.UUID]
) -> PlanRead:
    rows = session.exec(
        select(
            WeeklyPlan.id,
            WeeklyPlan.status,
            WeeklyPlan.note,
            WeeklyPlan.published_at,
            PlanItem.id,
            PlanItem.exercise_id,
            PlanItem.mode,
            PlanItem.times_per_week,
            PlanItem.minutes,
            PlanItem.instructions,
            PlanItem.position,
            Exercise.title,
            Exercise.category,
            PlanItemAssignee.user_id,
        )
        .select_from(WeeklyPlan)
        .outerjoin(
            PlanItem,
            and_(col(PlanItem.plan_id) == WeeklyPlan.id, col(PlanItem.archived_at).is_(None)),
        )
        .outerjoin(Exercise, col(Exercise.id) == PlanItem.exercise_id)
        .outerjoin(PlanItemAssignee, col(PlanItemAssignee.plan_item_id) == PlanItem.id)
        .where(WeeklyPlan.couple_id == couple, WeeklyPlan.week_start == week)
        .order_by(col(PlanItem.position), col(PlanItem.created_at))
    ).all()
    # Partners never see drafts: a draft is as absent as no plan at all.
    if not rows or (role == Role.partner and rows[0][1] != PlanStatus.published):
        raise NotFound(NO_PLAN)
    plan_id, status, note, published_at = rows[0][:4]
    items: dict[uuid.UUID, tuple] = {}
    explicit: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        item_id = row[4]
        if item_id is None:
            continue
        items.setdefault(item_id, row)
        if row[13] is not None:
            explicit[item_id].append(row[13])
    logs: dict[uuid.UUID, list[SessionLogRead]] = defaultdict(list)
    counts: dict[uuid.UUID, progress.Counts] = defaultdict(Counter)
    if items:
        for log in session.exec(
            select(
                SessionLog.id,
                SessionLog.plan_item_id,
                SessionLog.logged_by,
                SessionLog.done_on,
                SessionLog.status,
                SessionLog.confirmed_by,
                SessionLog.disputed_by,
                SessionLog.client_id,
                SessionLog.created_at,
            )
            .where(
                col(SessionLog.plan_item_id).in_(list(items)),
                SessionLog.status != LogStatus.withdrawn,
            )
            .order_by(col(SessionLog.created_at).desc())
        ):
            logs[log.plan_item_id].append(SessionLogRead.model_validate(log))
            counts[log.plan_item_id][(log.logged_by, LogStatus(log.status))] += 1
    answer = []
    for item_id, row in items.items():
        mode = Mode(row[6])
        if mode == Mode.joint:
            assignees = list(partners)
        else:
            assignees = sorted(explicit[item_id], key=str) or list(partners)
        tally = progress.tally_item(mode, row[7], assignees, counts[item_id])
        answer.append(
            PlanItemRead(
                id=item_id,
                exercise_id=row[5],
                title=row[11],
                category=row[12],
                mode=mode,
                assignee_ids=assignees,
                times_per_week=row[7],
                minutes=row[8],
                instructions=row[9],
                position=row[10],
                progress=ItemProgress(
                    done=tally.done, target=tally.target, awaiting_partner=tally.awaiting
                ),
                sessions=logs[item_id],
            )
        )
    return PlanRead(
        id=plan_id,
        couple_id=couple,
        week_start=week,
        status=status,
        note=note,
        published_at=published_at,
        items=answer,
    )
