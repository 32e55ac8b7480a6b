"""Things that happened that someone may need to hear about, as outbox rows.

The domain where something happens (plans, couples: they sit above the reminders) calls these
inside its own transaction, so a notification is written exactly when its cause is committed,
never lost and never sent for a change rolled back.
"""

import uuid
from datetime import date

from sqlmodel import Session

from tandem.reminders import outbox
from tandem.reminders.models import NotificationKind


def plan_published(
    session: Session,
    *,
    couple_id: uuid.UUID,
    plan_id: uuid.UUID,
    week_start: date,
    partner_ids: list[uuid.UUID],
) -> None:
    """A therapist published a week's plan: both partners hear of it."""
    for user_id in partner_ids:
        outbox.enqueue_event(
            session,
            user_id=user_id,
            kind=NotificationKind.plan_published,
            payload={"plan_id": str(plan_id), "url": "/"},
            dedupe_key=f"published:{plan_id}:{user_id}",
        )


def joint_practice_logged(*, practice_log_id: uuid.UUID, notify_user_id: uuid.UUID) -> outbox.Event:
    """A partner logged a joint practice: the other partner is asked to confirm it (written
    by the practice-log write itself: plans/practice_logs.py)."""
    return outbox.Event(
        user_id=notify_user_id,
        kind=NotificationKind.joint_practice_logged,
        payload={"session_id": str(practice_log_id), "url": f"/#/sessions/{practice_log_id}"},
        dedupe_key=f"logged:{practice_log_id}:{notify_user_id}",
    )


def practice_confirmed(*, practice_log_id: uuid.UUID, notify_user_id: uuid.UUID) -> outbox.Event:
    """The other partner confirmed a joint session: its author hears of it."""
    return outbox.Event(
        user_id=notify_user_id,
        kind=NotificationKind.practice_confirmed,
        payload={"session_id": str(practice_log_id), "url": "/"},
        dedupe_key=f"confirmed:{practice_log_id}:{notify_user_id}",
    )


def enqueue(session: Session, event: outbox.Event) -> None:
    """`event` as an outbox row in `session`'s transaction (the caller commits)."""
    outbox.enqueue_event(
        session,
        user_id=event.user_id,
        kind=event.kind,
        payload=event.payload,
        dedupe_key=event.dedupe_key,
    )


def partner_left(
    session: Session,
    *,
    couple_id: uuid.UUID,
    membership_id: uuid.UUID,
    partner_ids: list[uuid.UUID],
    therapist_id: uuid.UUID | None,
) -> None:
    """The partner left behind and the couple's therapist hear of it (discreetly, like every
    event): the partner on their week, the therapist on the couple's page."""
    notify = [(p, "/#/week") for p in partner_ids]
    if therapist_id is not None:
        notify.append((therapist_id, f"/#/couple/{couple_id}"))
    for user_id, url in notify:
        outbox.enqueue_event(
            session,
            user_id=user_id,
            kind=NotificationKind.partner_left,
            payload={"couple_id": str(couple_id), "url": url},
            dedupe_key=f"left:{membership_id}:{user_id}",
        )
