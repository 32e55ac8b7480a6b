"""What each person wrote, across every domain: gathered for export, removed on deletion.

Each domain that stores something a person authored adds its part here, so export and
account deletion can never forget a table.
"""

from typing import Any

from sqlmodel import Session, col, select

from tandem.accounts.models import User
from tandem.appointments import service as appointments
from tandem.core import crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.couples.models import Couple, Membership
from tandem.exercises import service as exercises
from tandem.journal import service as journal
from tandem.measures import results as measures
from tandem.plans import personal as plans
from tandem.practice_times import feed, nudges
from tandem.practice_times import service as practice_times
from tandem.reminders import service as reminders
from tandem.workspace import service as workspace


def export_authored(session: Session, *, user: User, settings: Settings) -> dict[str, Any]:
    memberships = session.exec(
        select(Membership, Couple)
        .join(Couple, col(Couple.id) == Membership.couple_id)
        .where(Membership.user_id == user.id)
        .order_by(col(Membership.joined_at))
    ).all()
    return {
        **reminders.export(session, user=user),
        "memberships": [
            {
                "couple_id": str(couple.id),
                "couple_label": couple.label,
                "role": membership.role,
                "joined_at": membership.joined_at.isoformat(),
                "left_at": membership.left_at.isoformat() if membership.left_at else None,
            }
            for membership, couple in memberships
        ],
        **journal.export_authored(session, settings=settings, user=user),
        **plans.export(session, user=user, kek=settings.key_encryption_key),
        "custom_exercises": exercises.export_custom(session, user=user),
        **appointments.export_authored(session, settings=settings, user=user),
        "practice_times": practice_times.export(session, user=user),
        "calendar_feed": feed.status(session, user=user).model_dump(mode="json"),
        **workspace.export(session, user_id=user.id),
        **measures.export_authored(session, settings=settings, user=user),
    }


def delete_authored(session: Session, *, user: User) -> None:
    """Delete everything the user authored (the caller commits)."""
    journal.delete_authored(session, user_id=user.id)
    plans.delete_authored(session, user=user)
    exercises.delete_custom(session, user=user)
    appointments.delete_authored(session, user_id=user.id)
    practice_times.forget_user(session, user_id=user.id, now=utcnow())
    feed.forget_user(session, user_id=user.id)
    nudges.forget_user(session, user_id=user.id)
    measures.delete_authored(session, user_id=user.id)
    # Last: other domains' sealed texts (session preparation) use the same data key.
    crypto.destroy_data_key(session, user_id=user.id)
    reminders.forget_user(session, user_id=user.id)
    workspace.forget(session, user_id=user.id)


def forget_device(session: Session, *, user: User, endpoint: str) -> None:
    """Signing out on a device drops that device's push subscription (the caller commits)."""
    reminders.forget_device(session, user=user, endpoint=endpoint)
