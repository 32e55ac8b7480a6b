"""Small helpers for the measures tests: assigning, answering, reading the outbox."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tandem.reminders.models import Notification
from tests.factories import Actor, World

PHQ9_CALM = {str(k): 0 for k in range(1, 10)}
PHQ9_RISK = {**PHQ9_CALM, "1": 2, "2": 2, "9": 1}


def assign(
    world: World, measure_key: str, *who: Actor, cadence: str = "once", **extra: Any
) -> dict:
    respondents = [a.id for a in who] or [world.partner_a.id]
    answer = world.therapist.post(
        f"/api/couples/{world.couple_id}/measure-assignments",
        json={"measure_key": measure_key, "respondent_ids": respondents, "cadence": cadence}
        | extra,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def due(actor: Actor) -> list[dict]:
    answer = actor.get("/api/me/measures/due")
    assert answer.status_code == 200, answer.text
    return answer.json()


def answer(actor: Actor, assignment_id: str, answers: dict) -> Any:
    return actor.post(
        "/api/measure-responses", json={"assignment_id": assignment_id, "answers": answers}
    )


def notifications(engine: Engine, user_id: str) -> list[Any]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notification.__table__).where(
                Notification.__table__.c.user_id == uuid.UUID(user_id)
            )
        ).all()
    return list(rows)


def soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
