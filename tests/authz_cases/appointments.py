from datetime import UTC, datetime, timedelta

from tests.authz import Case, MatrixWorld
from tests.factories import create_couple, invite, register

THERAPISTS_ONLY = {
    "everyone": 403,
    "other_therapist": 200,
    "therapist": 200,
}
MEMBERS = {"partner": 200, "partner_b": 200, "therapist": 200}


def soon() -> str:
    return (datetime.now(UTC) + timedelta(days=3)).isoformat()


def open_code(w: MatrixWorld) -> str:
    """A usable partner invitation of a couple that has a therapist (the world's couple is
    full, so it cannot invite anyone)."""
    if "preview_code" not in w.context:
        therapist = register(w.app, role="therapist", name="Dr Okafor")
        couple_id = create_couple(therapist)
        w.context["preview_code"] = invite(therapist, couple_id)
    return w.context["preview_code"]


def couple_with_appointment(w: MatrixWorld) -> dict[str, str]:
    if "appointment" not in w.context:
        answer = w.world.therapist.put(
            f"/api/couples/{w.couple_id}/next-appointment", json={"starts_at": soon()}
        )
        assert answer.status_code == 200, answer.text
        w.context["appointment"] = answer.json()["id"]
    return {"couple_id": w.couple_id}


CASES = [
    Case("GET", "/api/me/therapist-profile", expect=THERAPISTS_ONLY),
    Case(
        "PUT",
        "/api/me/therapist-profile",
        expect=THERAPISTS_ONLY,
        body=lambda w: {"display_name": "Dr Rivera", "telehealth": True},
    ),
    # Public: anyone holding a code may see who the therapist is before accepting.
    Case(
        "GET",
        "/api/invitations/preview",
        public=True,
        expect={"anonymous": 200, "everyone": 200},
        query=lambda w: {"code": open_code(w)},
    ),
    Case(
        "POST",
        "/api/invitations/preview",
        public=True,
        expect={"anonymous": 200, "everyone": 200},
        body=lambda w: {"code": open_code(w)},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/therapist-profile",
        expect=MEMBERS,
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/next-appointment",
        expect=MEMBERS,
        params=couple_with_appointment,
    ),
    Case(
        "PUT",
        "/api/couples/{couple_id}/next-appointment",
        expect={"partner": 403, "partner_b": 403, "therapist": 200},
        params=lambda w: {"couple_id": w.couple_id},
        body=lambda w: {"starts_at": soon(), "note": "Room 2"},
    ),
]

PREP_BODY = {"sections": [{"key": "questions", "text": "How long?", "visibility": "care_team"}]}

CASES += [
    Case(
        "GET",
        "/api/couples/{couple_id}/prep",
        expect={"partner": 200, "partner_b": 200, "therapist": 403},
        params=couple_with_appointment,
    ),
    Case(
        "PUT",
        "/api/couples/{couple_id}/prep",
        expect={"partner": 200, "partner_b": 200, "therapist": 403},
        params=couple_with_appointment,
        body=lambda w: PREP_BODY,
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/prep/shared",
        expect=MEMBERS,
        params=couple_with_appointment,
    ),
]
