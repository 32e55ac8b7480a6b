import itertools
import uuid
from datetime import time, timedelta

from tandem.core.db import utcnow, write_session
from tandem.reminders import actions, outbox
from tandem.reminders.models import Notification
from tests.authz import Case, MatrixWorld
from tests.authz_cases.appointments import couple_with_appointment
from tests.plans_support import this_monday
from tests.practice_support import at, published

MEMBERS = {"partner": 200, "partner_b": 200, "therapist": 200}
# The other partner answers a time; its proposer and the therapist are the wrong actors.
ANSWER = {"partner": 403, "partner_b": 200, "therapist": 403}
_minutes = itertools.count(1)


def _plan(w: MatrixWorld) -> dict:
    """Next week's published plan (its times are all still to come)."""
    if "slots_plan" not in w.context:
        week = this_monday() + timedelta(weeks=1)
        w.context["slots_plan"] = (week, published(w.world, week))
    return w.context["slots_plan"]


def _joint(w: MatrixWorld) -> str:
    return _plan(w)[1]["items"][0]["id"]


def _time(w: MatrixWorld) -> dict:
    """A different time for every call, so no two proposals collide."""
    week, _ = _plan(w)
    starts = at(week + timedelta(days=2), time(18, 0)) + timedelta(minutes=next(_minutes))
    return {"starts_at": starts.isoformat()}


def _proposed(w: MatrixWorld, key: str) -> str:
    """A joint time `partner` proposed, waiting for `partner_b`."""
    if key not in w.context:
        answer = w.world.partner_a.post(f"/api/plan-items/{_joint(w)}/slots", json=_time(w))
        assert answer.status_code == 201, answer.text
        w.context[key] = answer.json()["id"]
    return w.context[key]


def _feeds(w: MatrixWorld) -> dict:
    """Feeds for the partners who can have one (so changing one answers 200 for them), and
    the change."""
    if "feeds" not in w.context:
        for actor in (w.world.partner_a, w.world.partner_b, w.other.partner_a):
            assert actor.post("/api/me/calendar-feed").status_code == 201
        w.context["feeds"] = True
    return {"discreet": False}


def _fresh_feed(w: MatrixWorld) -> dict:
    """A new URL for each call: whoever holds it reads the feed, signed in or not."""
    url = w.world.partner_a.post("/api/me/calendar-feed").json()["url"]
    return {"secret": url.rsplit("/", 1)[1].removesuffix(".ics")}


def _action_token(w: MatrixWorld) -> dict:
    """A reminder of `partner`'s, as the worker would have sent it, and its token."""
    notification_id = uuid.uuid4()
    now = utcnow()
    with write_session(w.app.state.engine) as session:
        outbox.insert_ignore(
            session,
            [
                {
                    "id": notification_id,
                    "user_id": uuid.UUID(w.world.partner_a.id),
                    "kind": "reminder",
                    "payload": {"url": "/"},
                    "due_at": now,
                    "dedupe_key": f"matrix:{notification_id}",
                    "state": "sent",
                }
            ],
        )
        session.commit()
        assert session.get(Notification, notification_id) is not None
    token = actions.mint(
        w.app.state.settings,
        notification_id=notification_id,
        user_id=uuid.UUID(w.world.partner_a.id),
        now=now,
    )
    return {"token": token, "action": "snooze_1h"}


def _waiting_log(w: MatrixWorld) -> dict:
    """A joint session `partner` logged this week, waiting for `partner_b`."""
    if "nudge_log" not in w.context:
        current = w.world.therapist.get(f"/api/couples/{w.couple_id}/plans/current")
        plan = current.json() if current.status_code == 200 else published(w.world, this_monday())
        item_id = next(i["id"] for i in plan["items"] if i["mode"] == "joint")
        answer = w.world.partner_a.post(
            f"/api/plan-items/{item_id}/sessions", json={"client_id": str(uuid.uuid4())}
        )
        assert answer.status_code == 201, answer.text
        w.context["nudge_log"] = answer.json()["id"]
    return {"session_id": w.context["nudge_log"]}


CASES = [
    # Only assigned partners set times; therapists read them, never set them.
    Case(
        "POST",
        "/api/plan-items/{item_id}/slots",
        expect={"partner": 201, "partner_b": 201, "therapist": 403},
        params=lambda w: {"item_id": _joint(w)},
        body=_time,
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/slots",
        expect=MEMBERS,
        params=lambda w: {"couple_id": w.couple_id, "_": _proposed(w, "listed")},
        query=lambda w: {"week_start": str(_plan(w)[0])},
    ),
    Case(
        "POST",
        "/api/slots/{slot_id}/accept",
        expect=ANSWER,
        params=lambda w: {"slot_id": _proposed(w, "to_accept")},
    ),
    Case(
        "POST",
        "/api/slots/{slot_id}/decline",
        expect=ANSWER,
        params=lambda w: {"slot_id": _proposed(w, "to_decline")},
    ),
    # Either partner moves a joint time (it becomes their proposal).
    Case(
        "PATCH",
        "/api/slots/{slot_id}",
        expect={"partner": 200, "partner_b": 200, "therapist": 403},
        params=lambda w: {"slot_id": _proposed(w, "to_move")},
        body=_time,
    ),
    # Either partner calls a time off; a second call changes nothing.
    Case(
        "DELETE",
        "/api/slots/{slot_id}",
        expect={"partner": 204, "partner_b": 204, "therapist": 403},
        params=lambda w: {"slot_id": _proposed(w, "to_cancel")},
    ),
    # A feed shows a partner's couple: therapists have none, partners without a couple
    # (never joined, or left) have nothing to show yet.
    Case(
        "POST",
        "/api/me/calendar-feed",
        expect={
            "everyone": 201,
            "stranger": 409,
            "former": 409,
            "therapist": 403,
            "other_therapist": 403,
        },
    ),
    Case("GET", "/api/me/calendar-feed", expect={"everyone": 200}),
    Case(
        "PATCH",
        "/api/me/calendar-feed",
        expect={"everyone": 404, "partner": 200, "partner_b": 200, "other_partner": 200},
        body=_feeds,
    ),
    Case("DELETE", "/api/me/calendar-feed", expect={"everyone": 204}),
    # A capability URL: whoever holds it reads it, signed in or not.
    Case(
        "GET",
        "/api/calendar/{secret}.ics",
        public=True,
        expect={"anonymous": 200, "everyone": 200},
        params=_fresh_feed,
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/next-appointment.ics",
        expect=MEMBERS,
        params=couple_with_appointment,
    ),
    # The service worker holds no access token: the notification's own token is the key.
    Case(
        "POST",
        "/api/reminder-actions",
        public=True,
        expect={"anonymous": 204, "everyone": 204},
        body=_action_token,
    ),
    # The author of a waiting log nudges; the other partner has nothing of theirs waiting.
    Case(
        "POST",
        "/api/couples/{couple_id}/nudges",
        expect={"partner": 202, "partner_b": 409, "therapist": 403},
        params=lambda w: {"couple_id": w.couple_id},
        body=_waiting_log,
    ),
]
