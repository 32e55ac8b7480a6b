from tests.authz import Case, MatrixWorld


def _custom(w: MatrixWorld) -> str:
    """A custom exercise of this couple's therapist."""
    if "custom_exercise" not in w.context:
        answer = w.world.therapist.post(
            "/api/exercises",
            json={"title": "Our own", "category": "other", "instructions": "Do it."},
        )
        assert answer.status_code == 201, answer.text
        w.context["custom_exercise"] = answer.json()["id"]
    return w.context["custom_exercise"]


NEW = {"title": "Another", "category": "communication", "instructions": "Talk."}
THERAPISTS_ONLY = {
    "stranger": 403,
    "other_partner": 403,
    "former": 403,
    "partner": 403,
    "partner_b": 403,
}

CASES = [
    Case("GET", "/api/exercises", expect={"everyone": 200}),
    Case(
        "POST",
        "/api/exercises",
        expect={**THERAPISTS_ONLY, "other_therapist": 201, "therapist": 201},
        body=lambda w: NEW,
    ),
    # Visible to its therapist and that therapist's couples, nobody else.
    Case(
        "GET",
        "/api/exercises/{exercise_id}",
        expect={"partner": 200, "partner_b": 200, "therapist": 200},
        params=lambda w: {"exercise_id": _custom(w)},
    ),
    Case(
        "PATCH",
        "/api/exercises/{exercise_id}",
        expect={**THERAPISTS_ONLY, "other_therapist": 404, "therapist": 200},
        params=lambda w: {"exercise_id": _custom(w)},
        body=lambda w: {"default_minutes": 25},
    ),
]
