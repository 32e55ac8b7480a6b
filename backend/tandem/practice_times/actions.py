"""What "Done", "In 1 hour" and "Tonight" do when tapped on a reminder, with no app open.

The token (tandem/reminders/actions.py) names the notification and its person. It is spent by
inserting its notification's row in `reminder_action` (one per notification, ever), in the
transaction of what the action does: a second use, or two racing, find the row taken (410), and
a failed action spends nothing.
"""

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core.config import Settings
from tandem.core.db import table_of, utcnow
from tandem.core.errors import Conflict, DomainError, Gone
from tandem.core.security import digest
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Mode
from tandem.plans import practice_logs, progress
from tandem.plans.models import LogStatus, PlanItem, PracticeLog, PracticeLogCreate
from tandem.practice_times import reminders
from tandem.practice_times.models import PracticeSlot, ReminderAction, ReminderActionBody
from tandem.reminders import actions as tokens
from tandem.reminders import clock, outbox
from tandem.reminders.models import Notification, NotificationKind, ReminderPreference

SPENT = table_of(ReminderAction)
GONE = "This reminder can no longer be answered from the notification; open Tandem instead"
# "Tonight": this local time, unless it is too close or past, then an hour from now.
EVENING = time(20, 0)
# The log a "Done" makes gets a client_id derived from its notification, so even a replay that
# got past the token (it cannot) would answer the same log, never a second one.
_DONE_NAMESPACE = uuid.UUID("6d1f1e55-8b1e-4c7a-9a57-1d5b0c2f7e01")


def act(
    session: Session, *, settings: Settings, data: ReminderActionBody, now: datetime | None = None
) -> None:
    now = now or utcnow()
    token = tokens.read(settings, data.token)
    if token is None or token.expires_at <= now:
        raise Gone(GONE)
    notification = session.get(Notification, token.notification_id)
    user = session.get(User, token.user_id)
    if (
        notification is None
        or notification.user_id != token.user_id
        or notification.kind not in tokens.ACTIONABLE
        or user is None
        or user.deleted_at is not None
    ):
        raise Gone(GONE)
    if not _spend(
        session, notification=notification, token=data.token, action=data.action, now=now
    ):
        raise Gone(GONE)
    try:
        if data.action == "done":
            _done(session, user=user, notification=notification, now=now)
        else:
            _snooze(session, user=user, notification=notification, action=data.action, now=now)
            session.commit()
    except Conflict:
        session.rollback()
        raise
    except DomainError as exc:
        # Nothing is spent: the item left the plan, the person left the couple, the week ended.
        session.rollback()
        raise Gone(GONE) from exc


def _spend(
    session: Session, *, notification: Notification, token: str, action: str, now: datetime
) -> bool:
    """Claim the notification's one action: False when it was taken (now or before)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    claimed = session.execute(
        insert(SPENT)
        .values(
            notification_id=notification.id,
            user_id=notification.user_id,
            token_hash=digest(token),
            action=action,
            acted_at=now,
        )
        .on_conflict_do_nothing(index_elements=["notification_id"])
        .returning(SPENT.c.notification_id)
    )
    return claimed.first() is not None


# --- Done ---------------------------------------------------------------------------------


def _done(session: Session, *, user: User, notification: Notification, now: datetime) -> None:
    """Log the item the reminder was about (a joint one waits for the partner, or confirms
    the partner's waiting log, as logging in the app does). Nothing left to log: nothing is."""
    # "Today" as the logging use case reads it (the account's zone), so the day always fits.
    today = now.astimezone(ZoneInfo(user.timezone)).date()
    item_id: uuid.UUID | None
    if notification.kind == NotificationKind.slot.value:
        slot = _slot(session, notification.payload)
        if slot is None:
            raise Gone(GONE)
        item_id = slot.plan_item_id
        done_on = min(reminders.local_day(session, user.id, slot.starts_at), today)
    else:
        item_id = _only_unfinished_item(session, user=user)
        done_on = today
        if item_id is None:
            session.commit()  # everything is done already: the token is spent, nothing else
            return
    item = session.get(PlanItem, item_id)
    if item is None:
        raise Gone(GONE)
    if _already_logged(session, item=item, user=user, day=done_on):
        session.commit()
        return
    client_id = uuid.uuid5(_DONE_NAMESPACE, str(notification.id))
    # The app's own use case: its checks (still a partner, item still in a published plan,
    # the day within the week) and its events; it commits, the spent token with it.
    practice_logs.log_practice(
        session,
        user=user,
        item_id=item_id,
        data=PracticeLogCreate(client_id=client_id, done_on=done_on),
    )


def _slot(session: Session, payload: dict[str, Any]) -> PracticeSlot | None:
    try:
        return session.get(PracticeSlot, uuid.UUID(str(payload.get("slot_id"))))
    except ValueError:
        return None


def _already_logged(session: Session, *, item: PlanItem, user: User, day: Any) -> bool:
    """Logged that day by this person, or (joint) done together: a second log would count a
    session twice. A partner's log still waiting is not: logging confirms it."""
    logs = session.exec(
        select(PracticeLog).where(
            PracticeLog.plan_item_id == item.id,
            PracticeLog.done_on == day,
            col(PracticeLog.status).in_([LogStatus.done, LogStatus.awaiting_partner]),
        )
    ).all()
    return any(
        log.logged_by == user.id or (item.mode == Mode.joint and log.status == LogStatus.done)
        for log in logs
    )


def _only_unfinished_item(session: Session, *, user: User) -> uuid.UUID | None:
    """A daily reminder names no exercise: "Done" logs the one still unfinished this week.
    With several, guessing could record the wrong one: the app must ask (409)."""
    memberships = session.exec(
        select(Couple.id, Couple.timezone)
        .join(Membership, col(Membership.couple_id) == Couple.id)
        .where(
            Membership.user_id == user.id,
            Membership.role == Role.partner,
            col(Membership.left_at).is_(None),
        )
    ).all()
    unfinished: list[uuid.UUID] = []
    for couple_id, couple_timezone in memberships:
        plan = progress.published_plan(
            session, couple_id, progress.week_of(progress.local_today(couple_timezone))
        )
        if plan is None:
            continue
        items = progress.load_items(session, [plan.id])
        ids = [i.id for i, _ in items]
        explicit = progress.explicit_assignees(session, ids)
        partners = progress.active_partner_ids(session, couple_id)
        counts = progress.log_counts(session, ids)
        for item, _ in items:
            assignees = progress.assignees_of(item, explicit, partners)
            if user.id not in assignees:
                continue
            tally = progress.tally_item(item.mode, item.times_per_week, assignees, counts[item.id])
            done, target = tally.by_user[user.id]
            if done < target:
                unfinished.append(item.id)
    if len(unfinished) > 1:
        raise Conflict("Several exercises are waiting: open Tandem to say which one you did")
    return unfinished[0] if unfinished else None


# --- snoozes ------------------------------------------------------------------------------


def snooze_until(
    pref: ReminderPreference | None, *, zone: Any, action: str, now: datetime
) -> datetime:
    """When a snoozed reminder comes back: in an hour, or tonight; never in quiet hours."""
    due = now + timedelta(hours=1)
    if action == "snooze_evening":
        evening = clock.occurrence(now.astimezone(zone).date(), EVENING, zone)
        if evening > now + timedelta(minutes=30):
            due = evening
    if clock.in_quiet_hours(pref, due):
        assert pref is not None
        due = clock.quiet_hours_end(pref, due)
    return due


def _snooze(
    session: Session, *, user: User, notification: Notification, action: str, now: datetime
) -> None:
    """Exactly one new reminder, of the same kind and about the same thing (so the send-time
    checks still apply: a time moved or logged meanwhile is not reminded of)."""
    pref = session.get(ReminderPreference, user.id)
    zone = reminders.zone_of(session, user.id)
    due = snooze_until(pref, zone=zone, action=action, now=now)
    outbox.insert_ignore(
        session,
        [
            {
                "user_id": user.id,
                "kind": notification.kind,
                "payload": dict(notification.payload),
                "due_at": due,
                "dedupe_key": f"snooze:{notification.id}",
                "expires_at": clock.end_of_local_day(due.astimezone(zone).date(), zone),
            }
        ],
    )
