"""Things that happened that someone may need to hear about.

The domain where something happens calls these inside its own transaction; the reminders
domain turns them into outbox rows in that same transaction, so a notification is written
exactly when its cause is committed, never lost and never sent for a change rolled back.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session


def plan_published(
    session: Session,
    *,
    couple_id: uuid.UUID,
    plan_id: uuid.UUID,
    week_start: date,
    partner_ids: list[uuid.UUID],
) -> None:
    """A therapist published a week's plan: both partners hear of it."""
    from tandem.reminders import outbox
    from tandem.reminders.models import Kind

    for user_id in partner_ids:
        outbox.enqueue_event(
            session,
            user_id=user_id,
            kind=Kind.plan_published,
            payload={"plan_id": str(plan_id), "url": "/"},
            dedupe_key=f"published:{plan_id}:{user_id}",
        )


def joint_session_logged(
    session: Session,
    *,
    couple_id: uuid.UUID,
    session_log_id: uuid.UUID,
    logged_by: uuid.UUID,
    notify_user_id: uuid.UUID,
) -> None:
    """A partner logged a joint session: the other partner is asked to confirm it."""
    from tandem.reminders import outbox
    from tandem.reminders.models import Kind

    outbox.enqueue_event(
        session,
        user_id=notify_user_id,
        kind=Kind.joint_session_logged,
        payload={"session_id": str(session_log_id), "url": f"/#/sessions/{session_log_id}"},
        dedupe_key=f"logged:{session_log_id}:{notify_user_id}",
    )


def session_confirmed(
    session: Session,
    *,
    couple_id: uuid.UUID,
    session_log_id: uuid.UUID,
    confirmed_by: uuid.UUID,
    notify_user_id: uuid.UUID,
) -> None:
    """The other partner confirmed a joint session: its author hears of it."""
    from tandem.reminders import outbox
    from tandem.reminders.models import Kind

    outbox.enqueue_event(
        session,
        user_id=notify_user_id,
        kind=Kind.session_confirmed,
        payload={"session_id": str(session_log_id), "url": "/"},
        dedupe_key=f"confirmed:{session_log_id}:{notify_user_id}",
    )


# --- a partner left a couple ----------------------------------------------------------------
# The couples domain sits below plans and reminders, so it cannot call them: they register what
# must happen when a partner leaves, and couples announces it inside its own transaction.


@dataclass(frozen=True)
class PartnerLeft:
    couple_id: uuid.UUID
    membership_id: uuid.UUID
    user_id: uuid.UUID  # who left
    partner_ids: list[uuid.UUID]  # the partners still in the couple
    therapist_id: uuid.UUID | None


PartnerLeftHandler = Callable[[Session, PartnerLeft], None]
_partner_left: list[PartnerLeftHandler] = []


def on_partner_left(handler: PartnerLeftHandler) -> PartnerLeftHandler:
    """Register `handler` (at import: every domain module is imported by the app)."""
    if handler not in _partner_left:
        _partner_left.append(handler)
    return handler


def partner_left(session: Session, event: PartnerLeft) -> None:
    """A partner left (or was removed with their account): every registered domain acts in
    the caller's transaction (the caller commits)."""
    for handler in _partner_left:
        handler(session, event)
