from tests.authz import Case
from tests.plans_support import this_monday

THERAPISTS_ONLY = {"everyone": 403, "other_therapist": 200, "therapist": 200}
# The couple's therapist only: its partners are told it is not for their role (403), anyone
# else learns nothing (404, the default for outsiders).
COUPLE_THERAPIST = {"partner": 403, "partner_b": 403, "therapist": 200}
COUPLE_PARTNERS = {"partner": 200, "partner_b": 200, "therapist": 403}

CASES = [
    Case("GET", "/api/therapist/overview", expect=THERAPISTS_ONLY),
    Case("GET", "/api/me/workspace-settings", expect=THERAPISTS_ONLY),
    Case(
        "PUT",
        "/api/me/workspace-settings",
        expect=THERAPISTS_ONLY,
        body=lambda w: {"inactive_days": 6},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/timeline",
        expect=COUPLE_THERAPIST,
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/brief",
        expect=COUPLE_THERAPIST,
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/summary",
        expect=COUPLE_PARTNERS,
        params=lambda w: {"couple_id": w.couple_id},
        query=lambda w: {"week_start": this_monday().isoformat()},
    ),
]
