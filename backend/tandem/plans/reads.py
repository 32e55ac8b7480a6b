"""The plan read, made for the path every partner's phone takes: one thread hop, two queries.

`service.plan_read` builds the same answer from ORM objects in about ten queries spread over
six threadpool hops (dependencies, route, response validation); under load that cost the read
most of its throughput (docs/BENCHMARKS.md, "Load"). Here the authentication and membership
checks (one query), then the plan with its items, assignees and logs (one query) are read on
one connection on one worker thread, as plain rows from statements built once, and the answer
is serialized once by pydantic. The rules are the same as the
dependencies' and the service's (tests/test_plan_reads.py holds both to the same answers).
"""

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime

from sqlalchemy import and_, bindparam, or_
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import Session, col, select

from tandem.accounts import service as accounts
from tandem.accounts.models import AuthSession, Role, User
from tandem.core import audit, crypto
from tandem.core.errors import NotFound, Unauthorized
from tandem.core.security import AccessClaims
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Exercise, Mode
from tandem.plans import answers, progress
from tandem.plans.models import (
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

NO_PLAN = "No plan for this week"


# Built once: constructing a statement costs more CPU than SQLite takes to run it.
# 1. The sign-in session (as deps.current_user) and the couple's active members with its time
#    zone (as deps.couple_member), in one query: no row means signed out.
_ACCESS = (
    select(
        AuthSession.revoked_at,
        AuthSession.last_used_at,
        AuthSession.idle_seconds,
        AuthSession.expires_at,
        Membership.user_id,
        Membership.role,
        Membership.joined_at,
        Couple.timezone,
    )
    .select_from(AuthSession)
    .join(User, and_(col(User.id) == AuthSession.user_id, col(User.deleted_at).is_(None)))
    .outerjoin(
        Membership,
        and_(
            Membership.couple_id == bindparam("couple_id"),
            col(Membership.left_at).is_(None),
        ),
    )
    .outerjoin(Couple, col(Couple.id) == Membership.couple_id)
    .where(AuthSession.id == bindparam("session_id"), User.id == bindparam("user_id"))
    .order_by(col(Membership.joined_at))
)
# 2. The plan, its live items with their exercise, explicit assignees and sessions.
_PLAN = (
    select(
        WeeklyPlan.id,
        WeeklyPlan.status,
        WeeklyPlan.note,
        WeeklyPlan.published_at,
        PlanItem.id.label("item_id"),
        PlanItem.exercise_id,
        PlanItem.mode,
        PlanItem.times_per_week,
        PlanItem.minutes,
        PlanItem.instructions,
        PlanItem.position,
        Exercise.title,
        Exercise.category,
        PlanItemAssignee.user_id.label("assignee_id"),
        SessionLog.id.label("log_id"),
        SessionLog.logged_by,
        SessionLog.done_on,
        SessionLog.status.label("log_status"),
        SessionLog.confirmed_by,
        SessionLog.disputed_by,
        SessionLog.client_id,
        SessionLog.created_at,
        SessionLog.disputed_at,
        SessionLog.sealed_dispute_reason,
        SessionLog.withdrawn_reason,
    )
    .select_from(WeeklyPlan)
    .outerjoin(
        PlanItem,
        and_(col(PlanItem.plan_id) == WeeklyPlan.id, col(PlanItem.archived_at).is_(None)),
    )
    .outerjoin(Exercise, col(Exercise.id) == PlanItem.exercise_id)
    .outerjoin(PlanItemAssignee, col(PlanItemAssignee.plan_item_id) == PlanItem.id)
    .outerjoin(
        SessionLog,
        and_(
            col(SessionLog.plan_item_id) == PlanItem.id,
            # Withdrawn by their author: gone. Closed because someone left: kept, so the
            # partner left behind sees why nothing waits any more.
            or_(
                SessionLog.status != LogStatus.withdrawn,
                col(SessionLog.withdrawn_reason).is_not(None),
            ),
        ),
    )
    .where(
        WeeklyPlan.couple_id == bindparam("couple_id"),
        WeeklyPlan.week_start == bindparam("week_start"),
    )
    .order_by(
        col(PlanItem.position),
        col(PlanItem.created_at),
        col(PlanItem.id),
        col(SessionLog.created_at).desc(),
    )
)


def plan_json(
    engine: Engine,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
) -> bytes:
    """The caller's view of a couple's plan (the current week's when `week_start` is None)."""
    with engine.connect() as connection:
        try:
            couple: uuid.UUID | None = uuid.UUID(couple_id)
        except ValueError:
            couple = None  # 404, once the caller is known to be signed in
        rows = connection.execute(
            _ACCESS,
            {"session_id": claims.session_id, "user_id": claims.user_id, "couple_id": couple},
        ).all()
        if not rows or not accounts.session_alive(rows[0]):
            raise Unauthorized("Signed out")
        me = next((r for r in rows if r.user_id == claims.user_id), None)
        if couple is None or me is None:
            raise NotFound()
        role = me.role
        if week_start is None:
            week = progress.week_of(progress.local_today(rows[0].timezone))
        else:
            from tandem.plans.service import parse_week

            week = parse_week(week_start)
        partners = [r.user_id for r in rows if r.role == Role.partner]
        plan, reasons = _plan(connection, couple, week, role, partners)
        reasons.open(connection, kek, me.joined_at)
        answer = plan.model_dump_json().encode()
    if role == Role.therapist and reasons.authors:
        with Session(engine) as session:
            audit.record_reads(
                session,
                action="dispute_reason.read_by_therapist",
                reader_id=claims.user_id,
                couple_id=couple,
                author_ids=reasons.authors,
            )
    return answer


class _Reasons:
    """The dispute reasons of a plan's logs, opened only for a reader who was there when each
    was said (plans.answers.reason_readable), with one keyring for all of them."""

    def __init__(self) -> None:
        self.sealed: list[tuple[SessionLogRead, Row]] = []
        self.authors: set[uuid.UUID] = set()

    def add(self, read: SessionLogRead, row: Row) -> None:
        if row.sealed_dispute_reason is not None:
            self.sealed.append((read, row))

    def open(self, connection: Connection, kek: bytes, joined_at: datetime) -> None:
        readable = [
            (read, row)
            for read, row in self.sealed
            if answers.reason_readable(joined_at, row.disputed_at)
        ]
        if not readable:
            return
        with Session(bind=connection) as session:
            keyring = crypto.Keyring(session, kek)
            for read, row in readable:
                read.dispute_reason = answers.open_reason(
                    keyring,
                    log_id=row.log_id,
                    sealed=row.sealed_dispute_reason,
                    disputed_by=row.disputed_by,
                )
                if read.dispute_reason is not None and row.disputed_by is not None:
                    self.authors.add(row.disputed_by)


def _plan(
    connection: Connection, couple: uuid.UUID, week: date, role: str, partners: list[uuid.UUID]
) -> tuple[PlanRead, _Reasons]:
    rows = connection.execute(_PLAN, {"couple_id": couple, "week_start": week}).all()
    # Partners never see drafts: a draft is as absent as no plan at all.
    if not rows or (role == Role.partner and rows[0].status != PlanStatus.published):
        raise NotFound(NO_PLAN)
    first = rows[0]
    items: dict[uuid.UUID, Row] = {}
    explicit: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    logs: dict[uuid.UUID, dict[uuid.UUID, Row]] = defaultdict(dict)
    for row in rows:
        if row.item_id is None:
            continue
        items.setdefault(row.item_id, row)
        if row.assignee_id is not None:
            explicit[row.item_id].add(row.assignee_id)
        if row.log_id is not None:
            logs[row.item_id].setdefault(row.log_id, row)  # one row per assignee: keep one
    answer = []
    reasons = _Reasons()
    for item_id, row in items.items():
        mode = Mode(row.mode)
        if mode == Mode.joint:
            assignees = list(partners)
        else:
            assignees = sorted(explicit[item_id], key=str) or list(partners)
        counts: progress.Counts = Counter(
            (log.logged_by, LogStatus(log.log_status)) for log in logs[item_id].values()
        )
        tally = progress.tally_item(mode, row.times_per_week, assignees, counts)
        sessions = []
        for log in logs[item_id].values():
            read = SessionLogRead(
                id=log.log_id,
                plan_item_id=item_id,
                logged_by=log.logged_by,
                done_on=log.done_on,
                status=log.log_status,
                confirmed_by=log.confirmed_by,
                disputed_by=log.disputed_by,
                client_id=log.client_id,
                created_at=log.created_at,
                withdrawn_reason=log.withdrawn_reason,
            )
            reasons.add(read, log)
            sessions.append(read)
        answer.append(
            PlanItemRead(
                id=item_id,
                exercise_id=row.exercise_id,
                title=row.title,
                category=row.category,
                mode=mode,
                assignee_ids=assignees,
                times_per_week=row.times_per_week,
                minutes=row.minutes,
                instructions=row.instructions,
                position=row.position,
                progress=progress.item_progress(tally),
                sessions=sessions,
            )
        )
    plan = PlanRead(
        id=first.id,
        couple_id=couple,
        week_start=week,
        status=first.status,
        note=first.note,
        published_at=first.published_at,
        items=answer,
    )
    return plan, reasons
