import uuid
from datetime import timedelta

from tests.authz import Case, MatrixWorld
from tests.plans_support import INDIVIDUAL, JOINT, item, log, this_monday

PLAN = "/api/couples/{couple_id}/plans/{week_start}"
MEMBERS = {"partner": 200, "partner_b": 200, "therapist": 200}
THERAPIST_WRITES = {"partner": 403, "partner_b": 403}


def _plan(w: MatrixWorld, key: str, weeks_ahead: int, publish: bool) -> str:
    """A plan of this couple `weeks_ahead` weeks from now, made once per world."""
    if key not in w.context:
        week = this_monday() + timedelta(weeks=weeks_ahead)
        therapist = w.world.therapist
        answer = therapist.put(
            f"/api/couples/{w.couple_id}/plans/{week}",
            json={"items": [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 3)]},
        )
        assert answer.status_code == 200, answer.text
        if publish:
            published = therapist.post(f"/api/couples/{w.couple_id}/plans/{week}/publish")
            assert published.status_code == 200, published.text
        w.context[key] = {"week": str(week), "plan": answer.json()}
    return w.context[key]["week"]


def _items(w: MatrixWorld) -> list[dict]:
    _plan(w, "current", 0, publish=True)
    return w.context["current"]["plan"]["items"]


def _waiting_log(w: MatrixWorld, key: str) -> str:
    """A joint session logged by `partner`, waiting for `partner_b`."""
    if key not in w.context:
        answer = log(w.world.partner_a, _items(w)[0]["id"])
        assert answer.status_code == 201, answer.text
        w.context[key] = answer.json()["id"]
    return w.context[key]


CASES = [
    Case(
        "GET",
        "/api/couples/{couple_id}/plans/current",
        expect=MEMBERS,
        params=lambda w: {"couple_id": w.couple_id, "_": _plan(w, "current", 0, True)},
    ),
    # A draft: partners never see it.
    Case(
        "GET",
        PLAN,
        expect={"partner": 404, "partner_b": 404, "therapist": 200},
        params=lambda w: {"couple_id": w.couple_id, "week_start": _plan(w, "draft", 3, False)},
    ),
    Case(
        "PUT",
        PLAN,
        expect={**THERAPIST_WRITES, "therapist": 200},
        params=lambda w: {
            "couple_id": w.couple_id,
            "week_start": str(this_monday() + timedelta(weeks=9)),
        },
        body=lambda w: {"items": [item(JOINT, "joint", 2)]},
    ),
    # Publishing again is 200 too (and notifies nobody).
    Case(
        "POST",
        PLAN + "/publish",
        expect={**THERAPIST_WRITES, "therapist": 200},
        params=lambda w: {"couple_id": w.couple_id, "week_start": _plan(w, "publish", 5, False)},
    ),
    Case(
        "POST",
        PLAN + "/copy-forward",
        fresh="actor",
        expect={**THERAPIST_WRITES, "therapist": 201},
        params=lambda w: {"couple_id": w.couple_id, "week_start": _plan(w, "copy", 7, False)},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/adherence",
        expect=MEMBERS,
        params=lambda w: {"couple_id": w.couple_id},
        query=lambda w: {"weeks": 4},
    ),
    # An individual item assigned to both partners; therapists never log.
    Case(
        "POST",
        "/api/plan-items/{item_id}/sessions",
        expect={"partner": 201, "partner_b": 201, "therapist": 403},
        params=lambda w: {"item_id": _items(w)[1]["id"]},
        body=lambda w: {"client_id": str(uuid.uuid4())},
    ),
    # Only the other partner answers a joint session: its author and the therapist are the
    # wrong actors.
    Case(
        "POST",
        "/api/sessions/{session_id}/confirm",
        expect={"partner": 403, "partner_b": 200, "therapist": 403},
        params=lambda w: {"session_id": _waiting_log(w, "to_confirm")},
    ),
    # With a reason (sealed at rest): the same people, the same answers.
    Case(
        "POST",
        "/api/sessions/{session_id}/dispute",
        expect={"partner": 403, "partner_b": 200, "therapist": 403},
        params=lambda w: {"session_id": _waiting_log(w, "to_dispute")},
        body=lambda w: {"reason": "It did not happen this time"},
    ),
    Case(
        "DELETE",
        "/api/sessions/{session_id}",
        fresh="actor",
        expect={"partner": 204, "partner_b": 403, "therapist": 403},
        params=lambda w: {"session_id": _waiting_log(w, "to_withdraw")},
    ),
]
