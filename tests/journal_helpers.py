"""Writing and reading journal entries through the API, for the journal's tests."""

import uuid
from typing import Any

from tests.factories import Actor

VISIBILITIES = ("private", "partner", "therapist", "care_team")
PLURAL = {"note": "notes", "checkin": "checkins"}


def marker(label: str = "") -> str:
    # Long and random: no ciphertext, id or timestamp can contain it by chance.
    return f"CANARY{label}{uuid.uuid4().hex}"


def write(
    actor: Actor, couple_id: str, kind: str, visibility: str, mark: str | None = None
) -> dict[str, Any]:
    mark = mark or marker()
    if kind == "note":
        body: dict[str, Any] = {"body": f"{mark} a note", "visibility": visibility}
    else:
        body = {
            "text": f"{mark} how it went",
            "obstacles": f"{mark} what got in the way",
            "ratings": {"closeness": 7, "anxiety": 2},
            "visibility": visibility,
        }
    answer = actor.post(f"/api/couples/{couple_id}/{PLURAL[kind]}", json=body)
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    entry["marker"] = mark
    return entry


def couple_list(actor: Actor, couple_id: str, kind: str, **query: Any) -> list[dict[str, Any]]:
    answer = actor.get(f"/api/couples/{couple_id}/{PLURAL[kind]}", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(entries: list[dict[str, Any]]) -> set[str]:
    return {e["id"] for e in entries}


def leave(actor: Actor, couple_id: str) -> None:
    assert actor.post(f"/api/couples/{couple_id}/leave").status_code == 204
