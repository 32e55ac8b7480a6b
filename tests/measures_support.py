"""Small helpers for the measures tests: assigning, answering, reading the outbox."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tandem.measures.models import MeasureResponse
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


def custom_measure(therapist: Actor, words: str) -> str:
    """A therapist's own one-question measure whose title and answer carry `words` (a canary
    that must stay between that therapist and the person who answers); returns its key."""
    body = {
        "title": f"Check {words}",
        "items": [
            {
                "text": f"How was it {words}?",
                "options": [{"value": 0, "label": f"calm {words}"}, {"value": 1, "label": "hard"}],
            }
        ],
        "bands": [{"min": 0, "max": 1, "label": f"band {words}", "plain": f"plain {words}"}],
    }
    answer = therapist.post("/api/measures", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def answered_earlier(engine: Engine, response_id: str, days: int) -> None:
    """The response was given `days` ago, for an earlier occurrence: the same assignment is
    due again, as it would be after its interval."""
    with Session(engine) as session:
        row = session.get(MeasureResponse, uuid.UUID(response_id))
        assert row is not None
        row.occurrence_key = f"earlier-{row.id}"
        row.submitted_at = row.submitted_at - timedelta(days=days)
        session.add(row)
        session.commit()


def questionnaire_history(world: World, engine: Engine) -> None:
    """Alex answered PHQ-9 twice, a fortnight apart (11, moderate, then 2, minimal: a reliable
    improvement); Sam answered GAD-7 once (7, mild) and PHQ-9 once with a risk answer (a flag
    open for the therapist)."""
    phq9 = assign(world, "phq9", world.partner_a, cadence="biweekly")
    first = answer(world.partner_a, phq9["id"], {**PHQ9_CALM, "1": 3, "2": 3, "3": 3, "4": 2})
    assert first.status_code == 201, first.text
    answered_earlier(engine, first.json()["id"], days=14)
    again = answer(world.partner_a, phq9["id"], {**PHQ9_CALM, "1": 1, "2": 1})
    assert again.status_code == 201, again.text
    gad7 = assign(world, "gad7", world.partner_b)
    assert answer(world.partner_b, gad7["id"], {str(k): 1 for k in range(1, 8)}).status_code == 201
    risk = assign(world, "phq9", world.partner_b)
    assert answer(world.partner_b, risk["id"], {**PHQ9_CALM, "1": 1, "9": 1}).status_code == 201
