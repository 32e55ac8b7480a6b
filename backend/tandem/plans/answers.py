"""Answers to a logged session: the other partner confirms or disputes (saying, if they wish,
what happened), the author withdraws, and leaving the couple closes what can no longer be
answered. Every state change is a conditional UPDATE whose row count says who won (see
plans/sessions.py)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import crypto
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, NotFound
from tandem.couples import service as couples
from tandem.couples.hooks import PartnerLeft
from tandem.exercises.models import Mode
from tandem.plans import progress
from tandem.plans.models import (
    LogStatus,
    PlanItem,
    PracticeLog,
    PracticeLogRead,
    WeeklyPlan,
    WithdrawnReason,
)
from tandem.reminders import notices

# What a dispute reason is sealed as (tandem.crypto binds it to this table, row and field).
REASON_TABLE = "session_log"
REASON_FIELD = "dispute_reason"


def _fresh(session: Session, log_id: uuid.UUID) -> PracticeLog:
    return session.exec(
        select(PracticeLog)
        .where(PracticeLog.id == log_id)
        .execution_options(populate_existing=True)
    ).one()


def _load(
    session: Session, *, user: User, log_id: uuid.UUID
) -> tuple[PracticeLog, PlanItem, WeeklyPlan]:
    row = session.exec(
        select(PracticeLog, PlanItem, WeeklyPlan)
        .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(PracticeLog.id == log_id)
    ).first()
    if row is None:
        raise NotFound()
    log, item, plan = row
    membership = couples.require_membership(session, user=user, couple_id=plan.couple_id)
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners answer for sessions")
    return log, item, plan


def answer(
    session: Session,
    *,
    user: User,
    log_id: uuid.UUID,
    confirm: bool,
    reason: str | None = None,
    kek: bytes | None = None,
) -> PracticeLogRead:
    """The other partner confirms (`done`) or disputes a joint session that waits; a dispute
    may say what happened (`reason`, sealed under the disputing partner's data key)."""
    log, item, plan = _load(session, user=user, log_id=log_id)
    if item.archived_at is not None:
        # Removed from the published plan: as gone for answering as for logging.
        raise NotFound()
    if log.logged_by == user.id:
        raise Forbidden("Your partner confirms or disputes the sessions you log")
    if item.mode != Mode.joint:
        raise Conflict("Only joint sessions wait for confirmation")
    now = utcnow()
    status = LogStatus.done if confirm else LogStatus.disputed
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if confirm:
        values["confirmed_by"] = user.id
    else:
        values |= {"disputed_by": user.id, "disputed_at": now}
        if reason is not None:
            assert kek is not None, "a reason is sealed with the key-encryption key"
            values["sealed_dispute_reason"] = crypto.Keyring(session, kek).seal(
                reason, table=REASON_TABLE, row_id=log.id, author_id=user.id, field=REASON_FIELD
            )
    result = session.exec(
        update(PracticeLog)
        .where(col(PracticeLog.id) == log.id, col(PracticeLog.status) == LogStatus.awaiting_partner)
        .values(**values)
    )
    log = _fresh(session, log.id)
    if result.rowcount != 1:
        answered_by = log.confirmed_by if confirm else log.disputed_by
        if log.status == status and answered_by == user.id:
            return _answer_read(session, log, kek)  # the same answer again (a replay)
        raise Conflict(f"This session is not waiting for confirmation (it is {log.status})")
    if confirm:
        notices.enqueue(
            session,
            notices.practice_confirmed(practice_log_id=log.id, notify_user_id=log.logged_by),
        )
    session.commit()
    return _answer_read(session, log, kek)


def _answer_read(session: Session, log: PracticeLog, kek: bytes | None) -> PracticeLogRead:
    """The answer to the partner who confirmed or disputed: they said the reason themselves."""
    read = PracticeLogRead.model_validate(log)
    if kek is not None:
        read.dispute_reason = open_reason(
            crypto.Keyring(session, kek),
            log_id=log.id,
            sealed=log.sealed_dispute_reason,
            disputed_by=log.disputed_by,
        )
    return read


def reason_readable(joined_at: datetime, disputed_at: datetime | None) -> bool:
    """Like a journal entry's visibility, a reason reaches the members who were there when it
    was said: a partner or therapist who joins later does not read what was said before."""
    return disputed_at is not None and joined_at <= disputed_at


def open_reason(
    keyring: crypto.Keyring,
    *,
    log_id: uuid.UUID,
    sealed: bytes | None,
    disputed_by: uuid.UUID | None,
) -> str | None:
    """A log's dispute reason, or None when none was given or its author's account (and with
    it their key and the sealed text) is gone."""
    if sealed is None or disputed_by is None:
        return None
    return keyring.open(
        sealed, table=REASON_TABLE, row_id=log_id, author_id=disputed_by, field=REASON_FIELD
    )


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
    result = session.exec(
        update(PracticeLog)
        .where(col(PracticeLog.id) == log.id, col(PracticeLog.status).in_(allowed))
        .values(status=LogStatus.withdrawn, updated_at=utcnow())
    )
    if result.rowcount != 1:
        log = _fresh(session, log.id)
        if log.status == LogStatus.withdrawn:
            return
        raise Conflict("A confirmed session cannot be withdrawn")
    session.commit()


def close_on_leaving(session: Session, event: PartnerLeft) -> None:
    """A partner left: their joint logs still waiting can never be confirmed, and the other
    partner's logs waiting for them never will be. Both are withdrawn, with the reason kept on
    the log, so the partner left behind sees what happened instead of waiting forever."""
    couple_items = (
        core_select(col(PlanItem.id))
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(col(WeeklyPlan.couple_id) == event.couple_id)
    )
    waiting = and_(
        col(PracticeLog.plan_item_id).in_(couple_items),
        col(PracticeLog.status) == LogStatus.awaiting_partner,
    )
    now = utcnow()
    by_leaver = col(PracticeLog.logged_by) == event.user_id
    for author, reason in (
        (by_leaver, WithdrawnReason.author_left),
        (~by_leaver, WithdrawnReason.partner_left),
    ):
        session.execute(
            update(PracticeLog)
            .where(waiting, author)
            .values(status=LogStatus.withdrawn, withdrawn_reason=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
