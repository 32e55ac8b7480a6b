"""What reminders need to know about a person's week, without knowing how plans are stored."""

import uuid
from datetime import date

from sqlmodel import Session


def has_unfinished_work(session: Session, *, user_id: uuid.UUID, today: date) -> bool:
    """Whether the user still has something to do in their couple's current published plan
    (the week containing `today` in the couple's timezone). Daily reminders fire only then."""
    from tandem.plans import progress

    return progress.has_unfinished_work(session, user_id=user_id, today=today)
