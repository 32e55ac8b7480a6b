"""Weekly plans: a therapist drafts, publishes, amends and copies forward; members read."""

import uuid
from datetime import date, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import audit
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.exercises import service as exercises
from tandem.exercises.models import Exercise, Mode
from tandem.plans import plan_answer, progress
from tandem.plans.models import (
    PlanItem,
    PlanItemAssignee,
    PlanItemIn,
    PlanPut,
    PlanRead,
    PlanStatus,
    WeeklyPlan,
)
from tandem.reminders import notices


def current_week(couple: Couple) -> date:
    return progress.week_of(progress.local_today(couple.timezone))


# --- reading ------------------------------------------------------------------------------


def _find(
    session: Session, couple_id: uuid.UUID, week_start: date, *, lock: bool = False
) -> WeeklyPlan | None:
    query = select(WeeklyPlan).where(
        WeeklyPlan.couple_id == couple_id, WeeklyPlan.week_start == week_start
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def get_plan(session: Session, *, membership: Membership, week_start: date) -> WeeklyPlan:
    plan = _find(session, membership.couple_id, week_start)
    # Partners never see drafts: a draft is as absent as no plan at all.
    if plan is None or (membership.role == Role.partner and plan.status != PlanStatus.published):
        raise NotFound("No plan for this week")
    return plan


def get_current_plan(session: Session, *, membership: Membership) -> WeeklyPlan:
    couple = couples.get_couple(session, membership.couple_id)
    return get_plan(session, membership=membership, week_start=current_week(couple))


def plan_read(session: Session, plan: WeeklyPlan, *, viewer: Membership, kek: bytes) -> PlanRead:
    """The plan as `viewer` sees it (plans/plan_answer.py, the one builder), on this session's
    transaction: a change just made is in it."""
    session.flush()  # the builder's statement is Core: it does not autoflush
    answer, authors = plan_answer.build(
        session.connection(),
        couple_id=plan.couple_id,
        week=plan.week_start,
        role=viewer.role,
        partners=progress.active_partner_ids(session, plan.couple_id),
        joined_at=viewer.joined_at,
        kek=kek,
        session=session,
    )
    if viewer.role == Role.therapist:
        audit.record_reads(
            session,
            action="dispute_reason.read_by_therapist",
            reader_id=viewer.user_id,
            couple_id=plan.couple_id,
            author_ids=authors,
        )
    return answer


# --- writing ------------------------------------------------------------------------------


def _explicit_assignees(
    data: PlanItemIn, partners: list[uuid.UUID], number: int
) -> list[uuid.UUID]:
    """Rows to store for an item's assignees: none means both partners."""
    if data.assignee_ids is None:
        return []
    chosen = set(data.assignee_ids)
    if len(chosen) != len(data.assignee_ids) or not chosen <= set(partners) or not chosen:
        raise Invalid(f"Item {number}: assignees must be partners of this couple")
    if data.mode == Mode.joint:
        if chosen != set(partners):
            raise Invalid(f"Item {number}: a joint item is for both partners")
        return []
    return [] if chosen == set(partners) else sorted(chosen, key=str)


def _set_assignees(session: Session, item_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
    session.execute(delete(PlanItemAssignee).where(col(PlanItemAssignee.plan_item_id) == item_id))
    for user_id in user_ids:
        session.add(PlanItemAssignee(plan_item_id=item_id, user_id=user_id))


def put_plan(
    session: Session, *, user: User, couple_id: uuid.UUID, week_start: date, data: PlanPut
) -> WeeklyPlan:
    plan = _find(session, couple_id, week_start, lock=True)
    live: dict[uuid.UUID, PlanItem] = {}
    if plan is not None:
        live = {
            i.id: i
            for i in session.exec(
                select(PlanItem).where(
                    PlanItem.plan_id == plan.id, col(PlanItem.archived_at).is_(None)
                )
            )
        }
    partners = progress.active_partner_ids(session, couple_id)

    # Validate everything before writing anything.
    given_ids = [i.id for i in data.items if i.id is not None]
    if len(set(given_ids)) != len(given_ids):
        raise Invalid("An item appears twice")
    for item_id in given_ids:
        if item_id not in live:
            raise Invalid("An item id is not part of this plan; leave `id` out for a new item")
    usable = exercises.usable_exercises(
        session, user=user, exercise_ids={i.exercise_id for i in data.items}
    )
    # An item may keep an exercise its therapist can no longer pick (a predecessor's own).
    kept = {live[i.id].exercise_id for i in data.items if i.id is not None}
    missing = {i.exercise_id for i in data.items} - set(usable) - kept
    if missing:
        raise Invalid("Unknown exercise")
    if kept - set(usable):
        usable |= {
            e.id: e for e in session.exec(select(Exercise).where(col(Exercise.id).in_(kept)))
        }
    published = plan is not None and plan.status == PlanStatus.published
    assignees = []
    for number, given in enumerate(data.items, start=1):
        if given.mode == Mode.joint and len(partners) == 1:
            raise Invalid(
                f"Item {number}: a joint exercise needs two partners, and this couple has one. "
                "Choose an individual exercise instead."
            )
        assignees.append(_explicit_assignees(given, partners, number))
        if published and given.id is not None:
            old = live[given.id]
            if old.exercise_id != given.exercise_id or old.mode != given.mode:
                raise Invalid(
                    f"Item {number}: a published item keeps its exercise and mode; "
                    "remove it and add a new one instead"
                )

    now = utcnow()
    if plan is None:
        plan = WeeklyPlan(couple_id=couple_id, week_start=week_start, created_by=user.id)
        session.add(plan)
        try:
            session.flush()
        except IntegrityError as exc:
            session.rollback()
            raise Conflict("This week's plan was just created by another request") from exc
    plan.note = data.note
    plan.updated_at = now
    session.add(plan)

    dropped = set(live) - set(given_ids)
    if dropped and published:
        session.execute(
            update(PlanItem).where(col(PlanItem.id).in_(dropped)).values(archived_at=now)
        )
    elif dropped:
        # A draft has no logs (only published plans are logged against).
        session.execute(
            delete(PlanItemAssignee).where(col(PlanItemAssignee.plan_item_id).in_(dropped))
        )
        session.execute(delete(PlanItem).where(col(PlanItem.id).in_(dropped)))

    for position, (data_item, explicit) in enumerate(zip(data.items, assignees, strict=True)):
        exercise = usable[data_item.exercise_id]
        if data_item.id is not None:
            item = live[data_item.id]
        else:
            item = PlanItem(
                plan_id=plan.id,
                exercise_id=exercise.id,
                mode=data_item.mode,
                times_per_week=1,
                minutes=1,
            )
        item.exercise_id = exercise.id
        item.mode = data_item.mode
        item.times_per_week = data_item.times_per_week
        item.minutes = data_item.minutes or exercise.default_minutes
        item.instructions = data_item.instructions or ""
        item.position = position
        session.add(item)
        session.flush()
        _set_assignees(session, item.id, explicit)
    session.commit()
    return plan


def publish(session: Session, *, couple_id: uuid.UUID, week_start: date) -> WeeklyPlan:
    plan = _find(session, couple_id, week_start, lock=True)
    if plan is None:
        raise NotFound("No plan for this week")
    if plan.status == PlanStatus.published:
        return plan  # already published: 200, and nobody is notified twice
    items = progress.load_items(session, [plan.id])
    if not items:
        raise Conflict("Add at least one exercise before publishing")
    partners = progress.active_partner_ids(session, couple_id)
    if len(partners) == 1 and any(item.mode == Mode.joint for item, _ in items):
        # Nobody could ever confirm a joint session: it would wait forever.
        raise Conflict(
            "This plan has a joint exercise, and the couple has one partner now. "
            "Make it an individual exercise before publishing."
        )
    now = utcnow()
    # Conditional: of two publishes at once, only one notifies.
    result = session.exec(
        update(WeeklyPlan)
        .where(col(WeeklyPlan.id) == plan.id, col(WeeklyPlan.status) == PlanStatus.draft)
        .values(status=PlanStatus.published, published_at=now, updated_at=now)
    )
    if result.rowcount == 1:
        notices.plan_published(
            session,
            couple_id=couple_id,
            plan_id=plan.id,
            week_start=week_start,
            partner_ids=partners,
        )
    session.commit()
    session.refresh(plan)
    return plan


def copy_forward(
    session: Session, *, user: User, couple_id: uuid.UUID, week_start: date
) -> WeeklyPlan:
    source = _find(session, couple_id, week_start)
    if source is None:
        raise NotFound("No plan for this week")
    target_week = week_start + timedelta(days=7)
    if _find(session, couple_id, target_week) is not None:
        raise Conflict("The next week already has a plan")
    items = progress.load_items(session, [source.id])
    explicit = progress.explicit_assignees(session, [i.id for i, _ in items])
    partners = set(progress.active_partner_ids(session, couple_id))
    copy = WeeklyPlan(
        couple_id=couple_id, week_start=target_week, note=source.note, created_by=user.id
    )
    session.add(copy)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("The next week already has a plan") from exc
    for item, _ in items:
        new = PlanItem(
            plan_id=copy.id,
            exercise_id=item.exercise_id,
            mode=item.mode,
            times_per_week=item.times_per_week,
            minutes=item.minutes,
            instructions=item.instructions,
            position=item.position,
        )
        session.add(new)
        session.flush()
        # A partner who has left is no longer assigned; with nobody left, both partners are.
        still_here = [u for u in explicit.get(item.id, []) if u in partners]
        _set_assignees(session, new.id, still_here)
    session.commit()
    return copy


def week_totals(session: Session, couple: Couple) -> tuple[int, int] | None:
    return progress.week_totals(session, couple)
