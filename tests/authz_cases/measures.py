"""Questionnaires, answers, risk flags and goals. The partner isolation is in the cases: the
world's answers, flags and own goal are partner A's ("partner"), and partner B is refused them
exactly as an outsider is (404), never told they exist."""

from tests.authz import Case, MatrixWorld
from tests.measures_support import PHQ9_RISK

MEMBERS = {"partner": 200, "partner_b": 200, "therapist": 200}
THERAPIST_ONLY = {"partner": 403, "partner_b": 403, "therapist": 200}
ANY_THERAPIST = {"everyone": 403, "other_therapist": 201, "therapist": 201}
LEVELS = {"-2": "Much worse", "-1": "Worse", "0": "Expected", "1": "Better", "2": "Best"}


def _assignment(w: MatrixWorld, measure_key: str) -> str:
    """An assignment to partner A in this world, made once per world and measure."""
    key = f"assignment:{measure_key}"
    if key not in w.context:
        answer = w.world.therapist.post(
            f"/api/couples/{w.couple_id}/measure-assignments",
            json={
                "measure_key": measure_key,
                "respondent_ids": [w.world.partner_a.id],
                "cadence": "once",
            },
        )
        assert answer.status_code == 201, answer.text
        w.context[key] = answer.json()["id"]
    return w.context[key]


def _risk_response(w: MatrixWorld) -> dict:
    """Partner A's PHQ-9 answer with a risk answer, and the flag it raised."""
    if "risk_response" not in w.context:
        answer = w.world.partner_a.post(
            "/api/measure-responses",
            json={"assignment_id": _assignment(w, "phq9"), "answers": PHQ9_RISK},
        )
        assert answer.status_code == 201, answer.text
        flags = w.world.therapist.get(f"/api/couples/{w.couple_id}/risk-flags").json()
        w.context["risk_response"] = {"response_id": answer.json()["id"], "flag_id": flags[0]["id"]}
    return w.context["risk_response"]


def _own_goal(w: MatrixWorld) -> str:
    if "goal" not in w.context:
        answer = w.world.therapist.post(
            f"/api/couples/{w.couple_id}/goals",
            json={
                "title": "Ask for time alone",
                "levels": LEVELS,
                "owner_id": w.world.partner_a.id,
            },
        )
        assert answer.status_code == 201, answer.text
        w.context["goal"] = answer.json()["id"]
    return w.context["goal"]


def couple(w: MatrixWorld) -> dict[str, str]:
    return {"couple_id": w.couple_id}


CASES = [
    Case("GET", "/api/measures", expect={"everyone": 200}),
    Case(
        "POST",
        "/api/measures",
        expect=ANY_THERAPIST,
        body=lambda w: {
            "title": "Check",
            "items": [
                {
                    "text": "Q",
                    "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}],
                }
            ],
        },  # fmt: skip
    ),
    Case(
        "POST",
        "/api/couples/{couple_id}/measure-assignments",
        expect={"partner": 403, "partner_b": 403, "therapist": 201},
        params=couple,
        body=lambda w: {
            "measure_key": "csi16",
            "respondent_ids": [w.world.partner_b.id],
            "cadence": "biweekly",
        },
    ),
    Case(
        "GET", "/api/couples/{couple_id}/measure-assignments", expect=THERAPIST_ONLY, params=couple
    ),
    Case(
        "DELETE",
        "/api/measure-assignments/{assignment_id}",
        expect={"everyone": 403, "other_therapist": 404, "therapist": 204},
        params=lambda w: {"assignment_id": _assignment(w, "gad7")},
        fresh="actor",
    ),
    # Due items are the caller's own: every partner gets their own list (empty or not).
    Case(
        "GET",
        "/api/me/measures/due",
        expect={"everyone": 200, "other_therapist": 403, "therapist": 403},
    ),
    Case(
        "POST",
        "/api/measure-responses",
        expect={
            "stranger": 404,
            "other_partner": 404,
            "former": 404,
            "other_therapist": 403,
            "partner": 201,
            "partner_b": 404,
            "therapist": 403,
        },
        body=lambda w: {
            "assignment_id": _assignment(w, "phq4"),
            "answers": {"1": 0, "2": 1, "3": 0, "4": 1},
        },
        fresh="actor",
    ),
    # Partner A's own results; partner B asking for them is a 404, like an outsider.
    Case(
        "GET",
        "/api/couples/{couple_id}/measure-results",
        expect={"partner": 200, "partner_b": 404, "therapist": 200},
        params=lambda w: (_risk_response(w), couple(w))[1],
        query=lambda w: {"respondent_id": w.world.partner_a.id},
    ),
    Case("GET", "/api/couples/{couple_id}/measure-results/shared", expect=MEMBERS, params=couple),
    Case(
        "POST",
        "/api/measure-responses/{response_id}/share",
        expect={"partner": 200, "partner_b": 404, "therapist": 404},
        params=lambda w: {"response_id": _risk_response(w)["response_id"]},
    ),
    Case(
        "DELETE",
        "/api/measure-responses/{response_id}/share",
        expect={"partner": 200, "partner_b": 404, "therapist": 404},
        params=lambda w: {"response_id": _risk_response(w)["response_id"]},
    ),
    # Flags are the therapist's alone: no partner learns of one, their own included.
    Case(
        "GET",
        "/api/couples/{couple_id}/risk-flags",
        expect=THERAPIST_ONLY,
        params=lambda w: (_risk_response(w), couple(w))[1],
    ),
    Case(
        "GET",
        "/api/me/risk-flags",
        expect={"everyone": 403, "other_therapist": 200, "therapist": 200},
    ),
    Case(
        "POST",
        "/api/risk-flags/{flag_id}/clear",
        expect={"everyone": 403, "other_therapist": 404, "therapist": 204},
        params=lambda w: {"flag_id": _risk_response(w)["flag_id"]},
        fresh="actor",
    ),
    Case(
        "POST",
        "/api/couples/{couple_id}/goals",
        expect={"partner": 403, "partner_b": 403, "therapist": 201},
        params=couple,
        body=lambda w: {"title": "Weekly date", "levels": LEVELS},
    ),
    Case("GET", "/api/couples/{couple_id}/goals", expect=MEMBERS, params=couple),
    Case("GET", "/api/couples/{couple_id}/goal-attainment", expect=MEMBERS, params=couple),
    Case(
        "POST",
        "/api/goals/{goal_id}/ratings",
        expect={"partner": 201, "partner_b": 404, "therapist": 201},
        params=lambda w: {"goal_id": _own_goal(w)},
        body=lambda w: {"level": 1},
    ),
]
