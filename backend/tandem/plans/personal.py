"""What a person's export holds from plans, and what their account deletion removes."""

from datetime import date
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import crypto
from tandem.couples.models import Membership
from tandem.exercises.models import Exercise, Mode
from tandem.plans import answers, progress
from tandem.plans.models import (
    PlanItem,
    PlanStatus,
    PracticeLog,
    PracticeLogRequest,
    WeeklyPlan,
)


def _log(
    log: PracticeLog, item: PlanItem, plan: WeeklyPlan, title: str, reason: str | None
) -> dict[str, Any]:
    return {
        "id": str(log.id),
        "plan_item_id": str(log.plan_item_id),
        "couple_id": str(plan.couple_id),
        "week_start": plan.week_start.isoformat(),
        "exercise": title,
        "mode": item.mode,
        "logged_by": str(log.logged_by),
        "done_on": log.done_on.isoformat(),
        "status": log.status,
        "confirmed_by": str(log.confirmed_by) if log.confirmed_by else None,
        "disputed_by": str(log.disputed_by) if log.disputed_by else None,
        "client_id": str(log.client_id),
        "created_at": log.created_at.isoformat(),
        "withdrawn_reason": log.withdrawn_reason,
        "dispute_reason": reason,
    }


def export(session: Session, *, user: User, kek: bytes) -> dict[str, Any]:
    logs = session.exec(
        select(PracticeLog, PlanItem, WeeklyPlan, Exercise.title)
        .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .join(Exercise, col(Exercise.id) == PlanItem.exercise_id)
        .where(
            (col(PracticeLog.logged_by) == user.id)
            | (col(PracticeLog.confirmed_by) == user.id)
            | (col(PracticeLog.disputed_by) == user.id)
        )
        .order_by(col(PracticeLog.created_at).desc())
    ).all()
    keyring = crypto.Keyring(session, kek)

    def own_reason(log: PracticeLog) -> str | None:
        # Their own words only: a reason the other partner gave is not theirs to export.
        if log.disputed_by != user.id:
            return None
        return answers.open_reason(
            keyring, log_id=log.id, sealed=log.sealed_dispute_reason, disputed_by=log.disputed_by
        )

    return {
        "session_logs": [_log(*row, own_reason(row[0])) for row in logs],
        "plans": _assigned_plans(session, user),
    }


def _assigned_plans(session: Session, user: User) -> list[dict[str, Any]]:
    """Published plans of the couples the person was a partner of, while they were."""
    memberships = session.exec(
        select(Membership).where(Membership.user_id == user.id, Membership.role == Role.partner)
    ).all()
    plans: list[WeeklyPlan] = []
    for membership in memberships:
        first = progress.week_of(membership.joined_at.date())
        last = membership.left_at.date() if membership.left_at else date.max
        plans += session.exec(
            select(WeeklyPlan).where(
                WeeklyPlan.couple_id == membership.couple_id,
                WeeklyPlan.status == PlanStatus.published,
                col(WeeklyPlan.week_start) >= first,
                col(WeeklyPlan.week_start) <= last,
            )
        ).all()
    items = progress.load_items(session, [p.id for p in plans])
    explicit = progress.explicit_assignees(session, [i.id for i, _ in items])
    answer = []
    for plan in sorted(plans, key=lambda p: p.week_start, reverse=True):
        answer.append(
            {
                "id": str(plan.id),
                "couple_id": str(plan.couple_id),
                "week_start": plan.week_start.isoformat(),
                "note": plan.note,
                "items": [
                    {
                        "id": str(item.id),
                        "exercise": exercise.title,
                        "mode": item.mode,
                        "times_per_week": item.times_per_week,
                        "minutes": item.minutes,
                        "instructions": item.instructions,
                        "assignee_ids": [str(u) for u in explicit.get(item.id, [])]
                        or "both partners",
                    }
                    for item, exercise in items
                    if item.plan_id == plan.id
                ],
            }
        )
    return answer


def delete_authored(session: Session, *, user: User) -> None:
    """Individual logs are the person's own and go; joint logs are also the other partner's
    history and stay, under the nameless tombstone (the caller commits)."""
    individual = (
        select(PracticeLog.id)
        .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
        .where(PracticeLog.logged_by == user.id, PlanItem.mode == Mode.individual)
    )
    session.execute(
        delete(PracticeLogRequest).where(col(PracticeLogRequest.session_log_id).in_(individual))
    )
    session.execute(delete(PracticeLogRequest).where(col(PracticeLogRequest.user_id) == user.id))
    session.execute(delete(PracticeLog).where(col(PracticeLog.id).in_(individual)))
    # What they said when disputing a session is theirs and goes (their key goes too); the
    # other partner keeps the log, marked disputed.
    session.execute(
        update(PracticeLog)
        .where(col(PracticeLog.disputed_by) == user.id)
        .values(sealed_dispute_reason=None)
    )
