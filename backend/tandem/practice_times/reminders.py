"""Reminders before agreed practice times, kept as outbox rows.

A slot's rows are written in the transaction that changes the slot: every change first drops
the slot's rows not yet claimed (outbox.cancel_pending), then, for an accepted slot, writes one
row per person under a key naming the slot's version. Slot changes hold the couple's row lock
(PostgreSQL) or the write lock (SQLite), so two changes never interleave, and a row already
claimed by a worker for an older version is refused by the send check below: a move or a
cancellation never doubles a reminder, and never loses the new one.
"""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tandem.accounts.models import User
from tandem.couples.models import Membership
from tandem.exercises.models import Mode
from tandem.plans import progress
from tandem.plans.models import LogStatus, PlanItem, PracticeLog, WeeklyPlan
from tandem.practice_times.models import PracticeSlot, SlotStatus
from tandem.reminders import clock, outbox
from tandem.reminders.models import DEFAULT_SLOT_LEAD, NotificationKind, ReminderPreference
from tandem.reminders.outbox import Claimed


def key_prefix(slot_id: uuid.UUID) -> str:
    return f"slot:{slot_id}:"


def _key(slot: PracticeSlot, user_id: uuid.UUID) -> str:
    return f"{key_prefix(slot.id)}{slot.version}:{user_id}"


def zone_of(session: Session, user_id: uuid.UUID) -> ZoneInfo:
    """The person's own time zone: their reminder settings', else their account's."""
    pref = session.get(ReminderPreference, user_id)
    if pref is not None:
        return ZoneInfo(pref.timezone)
    user = session.get(User, user_id)
    return ZoneInfo(user.timezone if user else "UTC")


def people(session: Session, slot: PracticeSlot, item: PlanItem | None = None) -> list[uuid.UUID]:
    """Who a slot is for: both active partners for a joint item (while both still are); the
    partner who set it for an individual one (while they still are a partner)."""
    item = item or session.get(PlanItem, slot.plan_item_id)
    partners = progress.active_partner_ids(session, slot.couple_id)
    if item is None:
        return []
    if item.mode == Mode.joint:
        together = {slot.proposed_by, slot.answered_by} - {None}
        return partners if together <= set(partners) else []
    return [slot.proposed_by] if slot.proposed_by in partners else []


def replan(session: Session, *, slot: PracticeSlot, now: datetime) -> None:
    """The slot changed: its pending rows go, and an accepted slot gets its own (the caller
    commits)."""
    outbox.cancel_pending(session, dedupe_prefix=key_prefix(slot.id))
    if slot.status != SlotStatus.accepted:
        return
    for user_id in people(session, slot):
        _remind(session, slot=slot, user_id=user_id, now=now)


def _remind(session: Session, *, slot: PracticeSlot, user_id: uuid.UUID, now: datetime) -> None:
    pref = session.get(ReminderPreference, user_id)
    lead = pref.slot_lead_minutes if pref is not None else DEFAULT_SLOT_LEAD
    if lead is None:
        return  # the person wants no reminder before agreed times
    due = slot.starts_at - timedelta(minutes=lead)
    if clock.in_quiet_hours(pref, due):
        # As for events: at the end of the quiet hours, if that is still before the time.
        assert pref is not None
        due = clock.quiet_hours_end(pref, due)
    if due <= now or due >= slot.starts_at:
        return
    if _paused(pref, slot.starts_at):
        return
    outbox.insert_ignore(
        session,
        [
            {
                "user_id": user_id,
                "kind": NotificationKind.slot.value,
                "payload": {
                    "slot_id": str(slot.id),
                    "version": str(slot.version),
                    "url": "/#/week",
                },
                "due_at": due,
                "dedupe_key": _key(slot, user_id),
                # After the time has begun, a reminder of it has nothing left to say.
                "expires_at": slot.starts_at,
            }
        ],
    )


def _paused(pref: ReminderPreference | None, at: datetime) -> bool:
    if pref is None or pref.paused_until is None:
        return False
    return at.astimezone(ZoneInfo(pref.timezone)).date() <= pref.paused_until


def replan_person(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    """The person's reminder settings changed: their reminders before accepted times still ahead
    follow the new lead time, time zone, quiet hours and pause (the caller commits)."""
    slots = session.exec(
        select(PracticeSlot).where(
            PracticeSlot.status == SlotStatus.accepted,
            col(PracticeSlot.starts_at) > now,
            col(PracticeSlot.couple_id).in_(
                select(Membership.couple_id).where(
                    Membership.user_id == user_id, col(Membership.left_at).is_(None)
                )
            ),
        )
    ).all()
    for slot in slots:
        if user_id in people(session, slot):
            outbox.cancel_pending(session, dedupe_prefix=_key(slot, user_id))
            _remind(session, slot=slot, user_id=user_id, now=now)


# --- what the worker asks just before sending ----------------------------------------------


def local_day(session: Session, user_id: uuid.UUID, at: datetime) -> date:
    return at.astimezone(zone_of(session, user_id)).date()


def logged_for(session: Session, *, slot: PracticeSlot, user_id: uuid.UUID) -> bool:
    """Whether this person has nothing left to do for the slot: the item is logged on the
    slot's day (by them; for a joint item, by either partner), or their target for the week is
    already met."""
    item = session.get(PlanItem, slot.plan_item_id)
    if item is None:
        return True
    day = local_day(session, user_id, slot.starts_at)
    logs = session.exec(
        select(PracticeLog).where(
            PracticeLog.plan_item_id == item.id,
            PracticeLog.done_on == day,
            col(PracticeLog.status).in_([LogStatus.done, LogStatus.awaiting_partner]),
        )
    ).all()
    if any(log.logged_by == user_id or item.mode == Mode.joint for log in logs):
        return True
    return target_met(session, item=item, user_id=user_id)


def target_met(session: Session, *, item: PlanItem, user_id: uuid.UUID) -> bool:
    plan = session.get(WeeklyPlan, item.plan_id)
    if plan is None:
        return True
    partners = progress.active_partner_ids(session, plan.couple_id)
    assignees = progress.assignees_of(
        item, progress.explicit_assignees(session, [item.id]), partners
    )
    if user_id not in assignees:
        return True
    counts = progress.log_counts(session, [item.id])[item.id]
    tally = progress.tally_item(item.mode, item.times_per_week, assignees, counts)
    done, target = tally.by_user[user_id]
    return done >= target


def _slot_of(session: Session, row: Claimed) -> PracticeSlot | None:
    try:
        return session.get(PracticeSlot, uuid.UUID(str(row.payload.get("slot_id"))))
    except ValueError:
        return None


def slot_reminder_wanted(session: Session, row: Claimed, now: datetime) -> str | None:
    slot = _slot_of(session, row)
    if slot is None or slot.status != SlotStatus.accepted:
        return "no longer agreed"
    if str(slot.version) != str(row.payload.get("version")):
        return "moved"
    item = session.get(PlanItem, slot.plan_item_id)
    if item is None or item.archived_at is not None:
        return "no longer in the plan"
    if row.user_id not in people(session, slot):
        return "no longer theirs"
    if _paused(session.get(ReminderPreference, row.user_id), now):
        return "paused"
    if logged_for(session, slot=slot, user_id=row.user_id):
        return "already logged"
    return None


def proposal_still_open(session: Session, row: Claimed, now: datetime) -> str | None:
    slot = _slot_of(session, row)
    if slot is None or slot.status != SlotStatus.proposed:
        return "answered"
    if str(slot.version) != str(row.payload.get("version")):
        return "changed"
    return None


def nudge_still_fits(session: Session, row: Claimed, now: datetime) -> str | None:
    """A nudge about something the receiver has since answered would only nag."""
    try:
        subject = uuid.UUID(str(row.payload.get("subject_id")))
    except ValueError:
        return "unknown"
    log = session.get(PracticeLog, subject)
    if log is not None:
        return None if log.status == LogStatus.awaiting_partner else "answered"
    slot = session.get(PracticeSlot, subject)
    if slot is not None and slot.status == SlotStatus.proposed:
        return None
    return "answered"
