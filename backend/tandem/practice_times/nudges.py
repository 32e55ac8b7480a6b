"""A gentle nudge: a partner reminds the other of a log waiting for their confirmation or a
time waiting for their answer. One per sender, subject and (the sender's) day.

The receiver may turn nudges off. The sender must not be able to find that out, so a nudge to
someone who turned them off is recorded and answered exactly like any other (202, and 429 the
second time that day); only the push is left out.
"""

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from tandem.accounts.models import User
from tandem.core.db import table_of, utcnow
from tandem.core.errors import Conflict, NotFound, TooManyRequests
from tandem.couples.models import Membership
from tandem.plans import progress
from tandem.plans.models import LogStatus, PlanItem, PracticeLog, WeeklyPlan
from tandem.practice_times import reminders
from tandem.practice_times.models import Nudge, NudgeBody, PracticeSlot, SlotStatus
from tandem.reminders import clock, outbox
from tandem.reminders.models import NotificationKind, ReminderPreference

NUDGES = table_of(Nudge)
# A nudge delayed by quiet hours still makes sense the next morning; not much later.
LIFETIME = timedelta(hours=24)


def _subject(
    session: Session, *, membership: Membership, user: User, data: NudgeBody
) -> tuple[uuid.UUID, str]:
    """What the nudge is about, if it is this sender's and still waits: (id, link)."""
    if data.session_id is not None:
        log = session.get(PracticeLog, data.session_id)
        item = session.get(PlanItem, log.plan_item_id) if log else None
        plan = session.get(WeeklyPlan, item.plan_id) if item else None
        if log is None or plan is None or plan.couple_id != membership.couple_id:
            raise NotFound()
        if log.logged_by != user.id or log.status != LogStatus.awaiting_partner:
            raise Conflict("Only a session you logged that still waits for your partner")
        return log.id, f"/#/sessions/{log.id}"
    slot = session.get(PracticeSlot, data.slot_id)
    if slot is None or slot.couple_id != membership.couple_id:
        raise NotFound()
    if slot.proposed_by != user.id or slot.status != SlotStatus.proposed:
        raise Conflict("Only a time you suggested that still waits for your partner's answer")
    return slot.id, "/#/week"


def nudge(
    session: Session,
    *,
    membership: Membership,
    user: User,
    data: NudgeBody,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    subject_id, url = _subject(session, membership=membership, user=user, data=data)
    others = [p for p in progress.active_partner_ids(session, membership.couple_id) if p != user.id]
    if not others:
        raise Conflict("Your partner is not in Tandem with you at the moment")
    receiver = others[0]
    zone = reminders.zone_of(session, user.id)
    today = now.astimezone(zone).date()
    nudge_id = uuid.uuid4()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    recorded = session.execute(
        insert(NUDGES)
        .values(
            id=nudge_id,
            couple_id=membership.couple_id,
            sender_id=user.id,
            receiver_id=receiver,
            subject_id=subject_id,
            sent_on=today,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["sender_id", "subject_id", "sent_on"])
        .returning(NUDGES.c.id)
    ).first()
    if recorded is None:
        session.rollback()
        tomorrow = clock.occurrence(today + timedelta(days=1), time(0, 0), zone)
        wait = max(1, int((tomorrow - now).total_seconds()))
        raise TooManyRequests(
            "You already nudged your partner about this today", headers={"Retry-After": str(wait)}
        )
    pref = session.get(ReminderPreference, receiver)
    if pref is None or pref.nudges:
        outbox.enqueue_event(
            session,
            user_id=receiver,
            kind=NotificationKind.nudge,
            payload={"subject_id": str(subject_id), "url": url},
            dedupe_key=f"nudge:{nudge_id}",
            now=now,
            expires_at=now + LIFETIME,
        )
    session.commit()


def forget_user(session: Session, *, user_id: uuid.UUID) -> None:
    session.execute(
        NUDGES.delete().where((NUDGES.c.sender_id == user_id) | (NUDGES.c.receiver_id == user_id))
    )
