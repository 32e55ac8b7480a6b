"""Helpers for tests about plans: weeks, exercises and a published week."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tandem.exercises.service import builtin_id
from tests.factories import World

JOINT = str(builtin_id("speaker-listener"))
INDIVIDUAL = str(builtin_id("body-scan"))


def this_monday(timezone: str = "Europe/Berlin") -> date:
    today = datetime.now(ZoneInfo(timezone)).date()
    return today - timedelta(days=today.weekday())


def today(timezone: str = "Europe/Berlin") -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def item(exercise_id: str = JOINT, mode: str = "joint", times: int = 2, **extra: Any) -> dict:
    return {"exercise_id": exercise_id, "mode": mode, "times_per_week": times, **extra}


def put_plan(world: World, week: date, items: list[dict], note: str = "") -> dict:
    answer = world.therapist.put(
        f"/api/couples/{world.couple_id}/plans/{week}", json={"note": note, "items": items}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def publish(world: World, week: date) -> dict:
    answer = world.therapist.post(f"/api/couples/{world.couple_id}/plans/{week}/publish")
    assert answer.status_code == 200, answer.text
    return answer.json()


def published_week(world: World, week: date | None = None, items: list[dict] | None = None):
    week = week or this_monday()
    put_plan(world, week, items or [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    return publish(world, week)


def log(actor, item_id: str, client_id: str | None = None, **body: Any):
    return actor.post(
        f"/api/plan-items/{item_id}/sessions",
        json={"client_id": client_id or str(uuid.uuid4()), **body},
    )
