"""Agreed practice times: a partner proposes a time for a plan item; for a joint item the other
partner accepts or declines it (or moves it, which makes it their proposal); an individual
item's time is accepted at once. Either partner cancels. Members read them; the therapist reads
them as context for adherence.

Every change locks the couple's row first (PostgreSQL; SQLite writers already take turns), so
changes of one couple's slots, and the reminder rows they replace, happen one after another.
"""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Exercise, Mode
from tandem.plans import progress
from tandem.plans.models import PlanItem, PlanStatus, WeeklyPlan
from tandem.practice_times import reminders
from tandem.practice_times.models import (
    ACTIVE,
    PracticeSlot,
    SlotCreate,
    SlotMove,
    SlotRead,
    SlotStatus,
    WeekSlotRead,
)
from tandem.reminders import outbox
from tandem.reminders.models import NotificationKind

# More than any plan asks for in a week (14 times), fewer than a runaway client would make.
MAX_ACTIVE_PER_ITEM = 28


def _lock_couple(session: Session, couple_id: uuid.UUID) -> Couple:
    couple = session.exec(select(Couple).where(Couple.id == couple_id).with_for_update()).first()
    if couple is None:
        raise NotFound()
    return couple


def _partner_of(session: Session, *, user: User, couple_id: uuid.UUID) -> Membership:
    membership = couples.require_membership(session, user=user, couple_id=couple_id)
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners plan practice times")
    return membership


def _item(session: Session, item_id: uuid.UUID) -> tuple[PlanItem, WeeklyPlan]:
    row = session.exec(
        select(PlanItem, WeeklyPlan)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(PlanItem.id == item_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


def _assignees(session: Session, item: PlanItem, couple_id: uuid.UUID) -> list[uuid.UUID]:
    partners = progress.active_partner_ids(session, couple_id)
    return progress.assignees_of(item, progress.explicit_assignees(session, [item.id]), partners)


def week_bounds(week_start: date, timezone: str) -> tuple[datetime, datetime]:
    """The plan's week as instants: Monday 00:00 to the next Monday 00:00, in the couple's
    time zone (a DST change inside the week makes it 167 or 169 hours long)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(week_start, time(0, 0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(0, 0), tzinfo=zone)
    return start, end.astimezone(UTC)


def _check_time(starts_at: datetime, *, plan: WeeklyPlan, couple: Couple, now: datetime) -> None:
    if starts_at <= now:
        raise Invalid("That time has already passed; pick a time still to come")
    start, end = week_bounds(plan.week_start, couple.timezone)
    if not start <= starts_at < end:
        last = plan.week_start + timedelta(days=6)
        raise Invalid(
            f"Pick a time within this plan's week ({plan.week_start:%a %d %b} to {last:%a %d %b})"
        )


def _normalised(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def read(slot: PracticeSlot) -> SlotRead:
    return SlotRead.model_validate(slot)


# --- proposing ----------------------------------------------------------------------------


def propose(
    session: Session, *, user: User, item_id: uuid.UUID, data: SlotCreate, now: datetime | None
) -> PracticeSlot:
    now = now or utcnow()
    item, plan = _item(session, item_id)
    _partner_of(session, user=user, couple_id=plan.couple_id)
    if plan.status != PlanStatus.published or item.archived_at is not None:
        raise NotFound()
    if user.id not in _assignees(session, item, plan.couple_id):
        raise Forbidden("This exercise is assigned to your partner")
    couple = _lock_couple(session, plan.couple_id)
    starts_at = _normalised(data.starts_at)
    _check_time(starts_at, plan=plan, couple=couple, now=now)
    active = session.exec(
        select(PracticeSlot).where(
            PracticeSlot.plan_item_id == item.id, col(PracticeSlot.status).in_(ACTIVE)
        )
    ).all()
    if len(active) >= MAX_ACTIVE_PER_ITEM:
        raise Conflict("This exercise already has plenty of times set this week")
    individual = item.mode == Mode.individual
    for other in active:
        if other.starts_at == starts_at and (not individual or other.proposed_by == user.id):
            raise Conflict("There is already a time for this exercise then")
    slot = PracticeSlot(
        couple_id=plan.couple_id,
        plan_item_id=item.id,
        starts_at=starts_at,
        # An individual item's time is the person's own: nobody else has to agree.
        status=SlotStatus.accepted if individual else SlotStatus.proposed,
        proposed_by=user.id,
        answered_by=user.id if individual else None,
        created_at=now,
        updated_at=now,
    )
    session.add(slot)
    session.flush()
    _changed(session, slot=slot, item=item, actor=user, now=now)
    session.commit()
    return slot


def _changed(
    session: Session, *, slot: PracticeSlot, item: PlanItem, actor: User, now: datetime
) -> None:
    """Replace the slot's reminders; a new proposal is also told to the other partner."""
    reminders.replan(session, slot=slot, now=now)
    if slot.status != SlotStatus.proposed:
        return
    for partner in progress.active_partner_ids(session, slot.couple_id):
        if partner == actor.id:
            continue
        outbox.enqueue_event(
            session,
            user_id=partner,
            kind=NotificationKind.slot_proposed,
            payload={"slot_id": str(slot.id), "version": str(slot.version), "url": "/#/week"},
            dedupe_key=f"proposed:{slot.id}:{slot.version}:{partner}",
            now=now,
            expires_at=slot.starts_at,
        )


# --- answering, moving, cancelling --------------------------------------------------------


def _load(
    session: Session, *, user: User, slot_id: uuid.UUID
) -> tuple[PracticeSlot, PlanItem, Couple]:
    """The slot, as the partner asking, with the couple locked and the slot read after the
    lock (what a change racing this one committed is seen)."""
    slot = session.get(PracticeSlot, slot_id)
    if slot is None:
        raise NotFound()
    _partner_of(session, user=user, couple_id=slot.couple_id)
    couple = _lock_couple(session, slot.couple_id)
    fresh = session.exec(
        select(PracticeSlot)
        .where(PracticeSlot.id == slot_id)
        .execution_options(populate_existing=True)
    ).one()
    item = session.get(PlanItem, fresh.plan_item_id)
    assert item is not None  # the slot's foreign key
    return fresh, item, couple


def _set(session: Session, slot: PracticeSlot, now: datetime, **values: Any) -> None:
    for name, value in values.items():
        setattr(slot, name, value)
    slot.version += 1
    slot.updated_at = now
    session.add(slot)
    session.flush()


def answer(
    session: Session, *, user: User, slot_id: uuid.UUID, accept: bool, now: datetime | None = None
) -> PracticeSlot:
    """The other partner accepts or declines a proposed time. The same answer again (a retry)
    answers the slot as it is."""
    now = now or utcnow()
    slot, item, _couple = _load(session, user=user, slot_id=slot_id)
    if slot.proposed_by == user.id:
        raise Forbidden("Your partner answers the times you suggest")
    wanted = SlotStatus.accepted if accept else SlotStatus.declined
    if slot.status != SlotStatus.proposed:
        if slot.status == wanted and slot.answered_by == user.id:
            return slot
        raise Conflict(f"This time is not waiting for an answer any more (it is {slot.status})")
    if accept and slot.starts_at <= now:
        raise Conflict("This time has already passed; suggest another one")
    _set(session, slot, now, status=wanted, answered_by=user.id)
    _changed(session, slot=slot, item=item, actor=user, now=now)
    session.commit()
    return slot


def move(
    session: Session, *, user: User, slot_id: uuid.UUID, data: SlotMove, now: datetime | None = None
) -> PracticeSlot:
    """Another time for the same item. A joint time becomes the mover's proposal, which the
    other partner answers; an individual time stays the owner's and stays accepted."""
    now = now or utcnow()
    slot, item, couple = _load(session, user=user, slot_id=slot_id)
    if item.mode == Mode.individual and slot.proposed_by != user.id:
        raise Forbidden("Only the partner who set this time can move it")
    if slot.status not in ACTIVE:
        raise Conflict(f"This time was {slot.status}; suggest a new one instead")
    plan = session.get(WeeklyPlan, item.plan_id)
    assert plan is not None
    starts_at = _normalised(data.starts_at)
    _check_time(starts_at, plan=plan, couple=couple, now=now)
    if item.mode == Mode.individual:
        _set(session, slot, now, starts_at=starts_at)
    else:
        _set(
            session,
            slot,
            now,
            starts_at=starts_at,
            status=SlotStatus.proposed,
            proposed_by=user.id,
            answered_by=None,
        )
    _changed(session, slot=slot, item=item, actor=user, now=now)
    session.commit()
    return slot


def cancel(
    session: Session, *, user: User, slot_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Either partner calls a time off; cancelling one already cancelled changes nothing."""
    now = now or utcnow()
    slot, item, _couple = _load(session, user=user, slot_id=slot_id)
    if slot.status == SlotStatus.cancelled:
        session.commit()
        return
    if slot.status == SlotStatus.declined:
        raise Conflict("This time was already declined")
    _set(session, slot, now, status=SlotStatus.cancelled)
    _changed(session, slot=slot, item=item, actor=user, now=now)
    session.commit()


# --- reading ------------------------------------------------------------------------------


def week_slots(
    session: Session, *, membership: Membership, week_start: date | None
) -> list[PracticeSlot]:
    """The couple's slots for the items of one week's published plan, soonest first."""
    couple = couples.get_couple(session, membership.couple_id)
    week = week_start or progress.week_of(progress.local_today(couple.timezone))
    return list(
        session.exec(
            select(PracticeSlot)
            .join(PlanItem, col(PlanItem.id) == PracticeSlot.plan_item_id)
            .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
            .where(
                PracticeSlot.couple_id == couple.id,
                WeeklyPlan.week_start == week,
                WeeklyPlan.status == PlanStatus.published,
                col(PlanItem.archived_at).is_(None),
            )
            .order_by(col(PracticeSlot.starts_at), col(PracticeSlot.created_at))
        ).all()
    )


def agreed_in_weeks(
    session: Session, *, couple_id: uuid.UUID, first: date, last: date
) -> list[WeekSlotRead]:
    """The times still planned (accepted or proposed) for the published plans of the weeks
    `first` to `last` (Mondays), with each item's exercise, soonest first: adherence context
    for the therapist."""
    rows = session.exec(
        select(PracticeSlot, col(WeeklyPlan.week_start), col(Exercise.title), col(PlanItem.mode))
        .join(PlanItem, col(PlanItem.id) == PracticeSlot.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .join(Exercise, col(Exercise.id) == PlanItem.exercise_id)
        .where(
            PracticeSlot.couple_id == couple_id,
            col(PracticeSlot.status).in_(ACTIVE),
            col(WeeklyPlan.week_start) >= first,
            col(WeeklyPlan.week_start) <= last,
            WeeklyPlan.status == PlanStatus.published,
            col(PlanItem.archived_at).is_(None),
        )
        .order_by(col(PracticeSlot.starts_at), col(PracticeSlot.created_at))
    ).all()
    return [
        WeekSlotRead(**read(slot).model_dump(), week_start=week_start, title=title, mode=str(mode))
        for slot, week_start, title, mode in rows
    ]


def parse_week(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid("week_start must be a date such as 2026-11-23") from exc
    if day.weekday() != 0:
        raise Invalid("week_start must be a Monday")
    return day


# --- export and deletion (accounts/person_data.py) ------------------------------------------


def export(session: Session, *, user: User) -> list[dict[str, Any]]:
    slots = session.exec(
        select(PracticeSlot)
        .where(PracticeSlot.proposed_by == user.id)
        .order_by(col(PracticeSlot.starts_at).desc())
    ).all()
    return [read(s).model_dump(mode="json") for s in slots]


def forget_user(session: Session, *, user_id: uuid.UUID, now: datetime) -> None:
    """Account deletion: the person's own (individual) times go; joint times they were part of
    are called off, so the other partner is not reminded of them (the caller commits)."""
    individual = select(PlanItem.id).where(PlanItem.mode == Mode.individual)
    mine = (col(PracticeSlot.proposed_by) == user_id) | (col(PracticeSlot.answered_by) == user_id)
    session.execute(
        delete(PracticeSlot).where(
            col(PracticeSlot.proposed_by) == user_id,
            col(PracticeSlot.plan_item_id).in_(individual),
        )
    )
    joint = session.exec(
        select(PracticeSlot).where(mine, col(PracticeSlot.status).in_(ACTIVE))
    ).all()
    for slot in joint:
        outbox.cancel_pending(session, dedupe_prefix=reminders.key_prefix(slot.id))
    session.execute(
        update(PracticeSlot)
        .where(mine, col(PracticeSlot.status).in_(ACTIVE))
        .values(status=SlotStatus.cancelled, version=PracticeSlot.version + 1, updated_at=now)
    )
