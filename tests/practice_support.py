"""Helpers for the agreed practice times tests: a published week, times in it, outbox rows."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.practice_times.models import PracticeSlot, SlotStatus
from tandem.reminders.models import Notification
from tests.factories import Actor, World
from tests.plans_support import INDIVIDUAL, JOINT, item, publish, put_plan, this_monday

ZONE = "Europe/Berlin"
QUIET_OFF = {
    "enabled": False,
    "times": [],
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "timezone": ZONE,
    "discreet": True,
    "paused_until": None,
}


def at(day: date, clock: time, zone: str = ZONE) -> datetime:
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def published(world: World, week: date, *, individual_for: list[str] | None = None) -> dict:
    """A published plan for `week`: a joint item first, then an individual one (for both
    partners, or for `individual_for`)."""
    extra = {"assignee_ids": individual_for} if individual_for else {}
    put_plan(world, week, [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2, **extra)])
    return publish(world, week)


def next_week(world: World, zone: str = ZONE) -> tuple[date, dict]:
    """Next week's plan: every time in it is still to come, whatever day the tests run."""
    week = this_monday(zone) + timedelta(weeks=1)
    return week, published(world, week)


def propose(actor: Actor, item_id: str, starts: datetime) -> dict:
    answer = actor.post(f"/api/plan-items/{item_id}/slots", json={"starts_at": starts.isoformat()})
    assert answer.status_code == 201, answer.text
    return answer.json()


def agreed(proposer: Actor, answerer: Actor, item_id: str, starts: datetime) -> dict:
    slot = propose(proposer, item_id, starts)
    answer = answerer.post(f"/api/slots/{slot['id']}/accept")
    assert answer.status_code == 200, answer.text
    return answer.json()


def rows(
    engine: Engine, user_id: str, kind: str = "slot", state: str | None = None
) -> list[Notification]:
    with Session(engine) as session:
        query = select(Notification).where(
            Notification.user_id == uuid.UUID(user_id), Notification.kind == kind
        )
        if state is not None:
            query = query.where(Notification.state == state)
        # Ties on due_at (a moved reminder back at its old time) in the order they were made.
        return list(
            session.exec(query.order_by(col(Notification.due_at), col(Notification.created_at)))
        )


def settings_for(actor: Actor, **changes: object) -> None:
    answer = actor.put("/api/me/reminders", json={**QUIET_OFF, **changes})
    assert answer.status_code == 200, answer.text


def standing_time(
    engine: Engine,
    *,
    couple_id: str,
    item_id: str,
    starts_at: datetime,
    proposed_by: str,
    answered_by: str | None = None,
) -> str:
    """A time of this week as it stands, agreed (`answered_by`) or still proposed, written
    directly: the API only takes times still to come, and earlier days of the week are past
    on most days a test runs. Returns its id."""
    now = datetime.now(UTC)
    slot = PracticeSlot(
        couple_id=uuid.UUID(couple_id),
        plan_item_id=uuid.UUID(item_id),
        starts_at=starts_at,
        status=SlotStatus.accepted if answered_by else SlotStatus.proposed,
        proposed_by=uuid.UUID(proposed_by),
        answered_by=uuid.UUID(answered_by) if answered_by else None,
        created_at=now,
        updated_at=now,
    )
    with Session(engine) as session:
        session.add(slot)
        session.commit()
        return str(slot.id)
