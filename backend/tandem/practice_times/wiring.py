"""What practice times plug into the layers below them (called from tandem/wiring.py)."""

from typing import Any

from sqlmodel import Session

from tandem.accounts import person_data
from tandem.accounts.models import User
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.practice_times import feed, nudges, reminders, service
from tandem.reminders import hooks
from tandem.reminders.models import NotificationKind


def _export(session: Session, user: User, _settings: Settings) -> dict[str, Any]:
    return {
        "practice_times": service.export(session, user=user),
        "calendar_feed": feed.status(session, user=user).model_dump(mode="json"),
    }


def _erase(session: Session, user: User) -> None:
    service.forget_user(session, user_id=user.id, now=utcnow())
    feed.forget_user(session, user_id=user.id)
    nudges.forget_user(session, user_id=user.id)


def register() -> None:
    # Asked by the worker just before a row of these kinds goes out: is it still wanted?
    hooks.register_send_check(NotificationKind.slot.value, reminders.slot_reminder_wanted)
    hooks.register_send_check(NotificationKind.slot_proposed.value, reminders.proposal_still_open)
    hooks.register_send_check(NotificationKind.nudge.value, reminders.nudge_still_fits)
    hooks.on_preferences_changed("practice_times", reminders.replan_person)
    person_data.register("practice_times", export=_export, erase=_erase)
