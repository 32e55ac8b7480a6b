"""Where the domains built on couples plug in, at start-up (tandem/wiring.py), so couples never
import what sits above them:

- listeners told, inside the leaving's own transaction, that a partner left (plans closes the
  joint logs that can no longer be confirmed);
- the source of a couple's progress this week, shown on a couple's card (plans owns it).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from tandem.couples.models import Couple
from tandem.reminders import notices


@dataclass(frozen=True)
class PartnerLeft:
    couple_id: uuid.UUID
    membership_id: uuid.UUID
    user_id: uuid.UUID  # who left
    partner_ids: list[uuid.UUID]  # the partners still in the couple
    therapist_id: uuid.UUID | None


PartnerLeftListener = Callable[[Session, PartnerLeft], None]
_partner_left: dict[str, PartnerLeftListener] = {}


def on_partner_left(name: str, listener: PartnerLeftListener) -> None:
    """Keyed by name, so registering twice (several apps in one process) adds nothing."""
    _partner_left[name] = listener


def partner_left(session: Session, event: PartnerLeft) -> None:
    """A partner left (or was removed with their account): those left behind are told, and
    every registered domain acts, in the caller's transaction (the caller commits)."""
    for listener in _partner_left.values():
        listener(session, event)
    notices.partner_left(
        session,
        couple_id=event.couple_id,
        membership_id=event.membership_id,
        partner_ids=event.partner_ids,
        therapist_id=event.therapist_id,
    )


# (session, couples, each couple's active partners) -> (done, target) this week per couple; a
# couple without a published plan this week is absent.
WeekProgress = Callable[
    [Session, list[Couple], dict[uuid.UUID, list[uuid.UUID]]],
    dict[uuid.UUID, tuple[int, int]],
]
_week_progress: list[WeekProgress] = []


def provide_week_progress(source: WeekProgress) -> None:
    _week_progress[:] = [source]


def week_progress(
    session: Session, couples: list[Couple], partners: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, tuple[int, int]]:
    if not _week_progress:
        return {}  # no domain keeps plans (never so in the app: tandem/wiring.py)
    return _week_progress[0](session, couples, partners)
