"""Session logs: a partner says an item was done; a joint one waits for the other partner.

Every state change is a conditional UPDATE (`... WHERE status = 'awaiting_partner'`) whose
row count says who won, and every client_id is claimed by a primary key: two requests racing
(confirm against withdraw, two confirms, a replay arriving twice) end in one state on both
databases, without reading and then writing.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem import events
from tandem.accounts.models import Role, User
from tandem.couples import service as couples
from tandem.db import utcnow
from tandem.errors import Conflict, Forbidden, Invalid, NotFound
from tandem.exercises.models import Mode
from tandem.plans import progress
from tandem.plans.models import (
    LogStatus,
    PlanItem,
    PlanStatus,
    SessionLog,
    SessionLogCreate,
    SessionLogRequest,
    WeeklyPlan,
)


@dataclass
class Logged:
    log: SessionLog
    created: bool


def _fresh(session: Session, log_id: uuid.UUID) -> SessionLog:
    return session.exec(
        select(SessionLog).where(SessionLog.id == log_id).execution_options(populate_existing=True)
    ).one()


def _replayed(session: Session, *, user: User, client_id: uuid.UUID) -> SessionLog | None:
    return session.exec(
        select(SessionLog)
        .join(SessionLogRequest, col(SessionLogRequest.session_log_id) == SessionLog.id)
        .where(SessionLogRequest.user_id == user.id, SessionLogRequest.client_id == client_id)
        .execution_options(populate_existing=True)
    ).first()


def _replay_answer(log: SessionLog, item_id: uuid.UUID) -> Logged:
    if log.plan_item_id != item_id:
        raise Conflict("This client_id was already used for another session")
    return Logged(log, created=False)


def _other_partners(session: Session, couple_id: uuid.UUID, user: User) -> list[uuid.UUID]:
    return [p for p in progress.active_partner_ids(session, couple_id) if p != user.id]


def log_session(
    session: Session, *, user: User, item_id: uuid.UUID, data: SessionLogCreate
) -> Logged:
    row = session.exec(
        select(PlanItem, WeeklyPlan)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(PlanItem.id == item_id)
    ).first()
    if row is None:
        raise NotFound()
    item, plan = row
    membership = couples.require_membership(session, user=user, couple_id=plan.couple_id)
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners log sessions")
    if plan.status != PlanStatus.published or item.archived_at is not None:
        raise NotFound()
    partners = progress.active_partner_ids(session, plan.couple_id)
    assignees = progress.assignees_of(
        item, progress.explicit_assignees(session, [item.id]), partners
    )
    if user.id not in assignees:
        raise Forbidden("This exercise is assigned to your partner")

    # Replays first: a queued request may arrive after its week is over.
    earlier = _replayed(session, user=user, client_id=data.client_id)
    if earlier is not None:
        return _replay_answer(earlier, item_id)

    today = progress.local_today(user.timezone)
    done_on = data.done_on or today
    if done_on > today:
        raise Invalid("done_on is in the future")
    week_end = plan.week_start + timedelta(days=6)
    if not plan.week_start <= done_on <= week_end:
        raise Invalid(f"done_on must fall within the plan's week ({plan.week_start} to {week_end})")

    if item.mode == Mode.joint:
        confirmed = _confirm_waiting(session, user=user, item=item, done_on=done_on)
        if confirmed is not None:
            return _claim(
                session,
                user=user,
                data=data,
                item_id=item_id,
                log=confirmed,
                couple_id=plan.couple_id,
                confirmed=True,
            )

    log = SessionLog(
        plan_item_id=item.id,
        logged_by=user.id,
        done_on=done_on,
        status=LogStatus.awaiting_partner if item.mode == Mode.joint else LogStatus.done,
        client_id=data.client_id,
    )
    session.add(log)
    return _claim(
        session,
        user=user,
        data=data,
        item_id=item_id,
        log=log,
        couple_id=plan.couple_id,
        confirmed=False,
    )


def _confirm_waiting(session: Session, *, user: User, item: PlanItem, done_on) -> SessionLog | None:
    """The other partner logged this joint item for this day and waits: logging it too
    confirms their log. Returns the log confirmed, if any."""
    waiting = session.exec(
        select(SessionLog.id)
        .where(
            SessionLog.plan_item_id == item.id,
            SessionLog.done_on == done_on,
            SessionLog.status == LogStatus.awaiting_partner,
            SessionLog.logged_by != user.id,
        )
        .order_by(col(SessionLog.created_at), col(SessionLog.id))
    ).all()
    for log_id in waiting:
        result = session.execute(
            update(SessionLog)
            .where(col(SessionLog.id) == log_id, SessionLog.status == LogStatus.awaiting_partner)
            .values(status=LogStatus.done, confirmed_by=user.id, updated_at=utcnow())
        )
        if result.rowcount == 1:
            return _fresh(session, log_id)
    return None


def _claim(
    session: Session,
    *,
    user: User,
    data: SessionLogCreate,
    item_id: uuid.UUID,
    log: SessionLog,
    couple_id: uuid.UUID,
    confirmed: bool,
) -> Logged:
    """Claim the client_id for this log and commit, or, when the same client_id won a race
    a moment ago, undo everything and answer what that request did."""
    try:
        session.flush()
        session.add(
            SessionLogRequest(user_id=user.id, client_id=data.client_id, session_log_id=log.id)
        )
        session.flush()
    except IntegrityError:
        session.rollback()
        earlier = _replayed(session, user=user, client_id=data.client_id)
        if earlier is None:  # pragma: no cover - the conflicting row was committed
            raise Conflict("This session changed at the same moment; try again") from None
        return _replay_answer(earlier, item_id)
    if confirmed:
        events.session_confirmed(
            session,
            couple_id=couple_id,
            session_log_id=log.id,
            confirmed_by=user.id,
            notify_user_id=log.logged_by,
        )
    elif log.status == LogStatus.awaiting_partner:
        for other in _other_partners(session, couple_id, user):
            events.joint_session_logged(
                session,
                couple_id=couple_id,
                session_log_id=log.id,
                logged_by=user.id,
                notify_user_id=other,
            )
    session.commit()
    return Logged(log, created=not confirmed)


def _load(session: Session, *, user: User, log_id: uuid.UUID):
    row = session.exec(
        select(SessionLog, PlanItem, WeeklyPlan)
        .join(PlanItem, col(PlanItem.id) == SessionLog.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(SessionLog.id == log_id)
    ).first()
    if row is None:
        raise NotFound()
    log, item, plan = row
    membership = couples.require_membership(session, user=user, couple_id=plan.couple_id)
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners answer for sessions")
    return log, item, plan


def answer(session: Session, *, user: User, log_id: uuid.UUID, confirm: bool) -> SessionLog:
    """The other partner confirms (`done`) or disputes a joint session that waits."""
    log, item, plan = _load(session, user=user, log_id=log_id)
    if log.logged_by == user.id:
        raise Forbidden("Your partner confirms or disputes the sessions you log")
    if item.mode != Mode.joint:
        raise Conflict("Only joint sessions wait for confirmation")
    status = LogStatus.done if confirm else LogStatus.disputed
    values = {"status": status, "updated_at": utcnow()}
    values["confirmed_by" if confirm else "disputed_by"] = user.id
    result = session.execute(
        update(SessionLog)
        .where(col(SessionLog.id) == log.id, SessionLog.status == LogStatus.awaiting_partner)
        .values(**values)
    )
    log = _fresh(session, log.id)
    if result.rowcount != 1:
        answered_by = log.confirmed_by if confirm else log.disputed_by
        if log.status == status and answered_by == user.id:
            return log  # the same answer again (a replay from an offline queue)
        raise Conflict(f"This session is not waiting for confirmation (it is {log.status})")
    if confirm:
        events.session_confirmed(
            session,
            couple_id=plan.couple_id,
            session_log_id=log.id,
            confirmed_by=user.id,
            notify_user_id=log.logged_by,
        )
    session.commit()
    return log


def withdraw(session: Session, *, user: User, log_id: uuid.UUID) -> None:
    """The author takes a log back: a joint one until it is confirmed, an individual one
    while its week lasts. It is marked, never deleted, so a replay cannot revive it."""
    log, item, plan = _load(session, user=user, log_id=log_id)
    if log.logged_by != user.id:
        raise Forbidden("Only the partner who logged a session can withdraw it")
    if log.status == LogStatus.withdrawn:
        return
    if item.mode == Mode.joint:
        allowed = [LogStatus.awaiting_partner, LogStatus.disputed]
    else:
        allowed = [LogStatus.done]
        today = progress.local_today(user.timezone)
        if today > plan.week_start + timedelta(days=6):
            raise Conflict("The week of this session is over")
    result = session.execute(
        update(SessionLog)
        .where(col(SessionLog.id) == log.id, col(SessionLog.status).in_(allowed))
        .values(status=LogStatus.withdrawn, updated_at=utcnow())
    )
    if result.rowcount != 1:
        log = _fresh(session, log.id)
        if log.status == LogStatus.withdrawn:
            return
        raise Conflict("A confirmed session cannot be withdrawn")
    session.commit()
