"""A gentle nudge: one per item per day per sender, and a silent drop for a receiver who turned
nudges off, which the sender cannot tell from a nudge that went out (issue #17)."""

import json
import uuid
from datetime import time, timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.accounts.models import User
from tandem.core.db import utcnow, write_session
from tandem.couples.models import Membership
from tandem.practice_times import nudges, reminders
from tandem.practice_times.models import NudgeBody
from tandem.reminders import sender
from tandem.reminders.outbox import Claimed
from tests.factories import World, make_world
from tests.plans_support import this_monday
from tests.practice_support import at, next_week, propose, published, rows, settings_for


def waiting_log(w: World) -> str:
    """A joint session partner A logged today, waiting for partner B."""
    plan = published(w, this_monday())
    answer = w.partner_a.post(
        f"/api/plan-items/{plan['items'][0]['id']}/sessions", json={"client_id": str(uuid.uuid4())}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def nudge(actor, w: World, **body: str):  # noqa: ANN001, ANN201
    return actor.post(f"/api/couples/{w.couple_id}/nudges", json=body)


class TestNudging:
    def test_once_a_day_per_item_then_429(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        log_id = waiting_log(w)
        first = nudge(w.partner_a, w, session_id=log_id)
        assert first.status_code == 202
        [row] = rows(engine, w.partner_b.id, kind="nudge")
        assert row.payload == {"subject_id": log_id, "url": f"/#/sessions/{log_id}"}
        again = nudge(w.partner_a, w, session_id=log_id)
        assert again.status_code == 429
        assert 0 < int(again.headers["retry-after"]) <= 25 * 3600
        assert "already nudged" in again.json()["detail"]
        assert len(rows(engine, w.partner_b.id, kind="nudge")) == 1
        # A proposed time is another item: it has its own nudge today.
        week, plan = next_week(w)
        slot = propose(w.partner_a, plan["items"][0]["id"], at(week, time(20, 0)))
        assert nudge(w.partner_a, w, slot_id=slot["id"]).status_code == 202
        assert len(rows(engine, w.partner_b.id, kind="nudge")) == 2

    def test_only_the_author_of_something_still_waiting_nudges(self, app: FastAPI) -> None:
        w = make_world(app)
        log_id = waiting_log(w)
        assert nudge(w.partner_b, w, session_id=log_id).status_code == 409
        assert nudge(w.therapist, w, session_id=log_id).status_code == 403
        other = make_world(app)
        assert nudge(other.partner_a, other, session_id=log_id).status_code == 404
        assert nudge(w.partner_a, w, session_id=str(uuid.uuid4())).status_code == 404
        assert nudge(w.partner_a, w).status_code == 422
        both = nudge(w.partner_a, w, session_id=log_id, slot_id=str(uuid.uuid4()))
        assert both.status_code == 422
        assert w.partner_b.post(f"/api/sessions/{log_id}/confirm").status_code == 200
        assert nudge(w.partner_a, w, session_id=log_id).status_code == 409

    def test_a_receiver_who_turned_nudges_off_gets_nothing_and_the_sender_cannot_tell(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint = plan["items"][0]["id"]
        on_slot = propose(w.partner_a, joint, at(week, time(19, 0)))
        on = [nudge(w.partner_a, w, slot_id=on_slot["id"]) for _ in range(2)]
        settings_for(w.partner_b, nudges=False)
        assert w.partner_b.get("/api/me/reminders").json()["nudges"] is False
        off_slot = propose(w.partner_a, joint, at(week, time(20, 0)))
        off = [nudge(w.partner_a, w, slot_id=off_slot["id"]) for _ in range(2)]
        assert [a.status_code for a in on] == [a.status_code for a in off] == [202, 429]
        assert on[0].content == off[0].content
        assert on[1].json() == off[1].json()
        same = {"content-type", "content-length", "cache-control"}
        assert {k: v for k, v in on[0].headers.items() if k in same} == {
            k: v for k, v in off[0].headers.items() if k in same
        }
        payloads = [r.payload["subject_id"] for r in rows(engine, w.partner_b.id, kind="nudge")]
        assert payloads == [on_slot["id"]]

    def test_a_new_day_allows_a_new_nudge(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        log_id = waiting_log(w)
        body = NudgeBody(session_id=uuid.UUID(log_id))
        with write_session(engine) as session:
            user = session.get(User, uuid.UUID(w.partner_a.id))
            membership = session.exec(
                select(Membership).where(Membership.user_id == uuid.UUID(w.partner_a.id))
            ).one()
            nudges.nudge(session, membership=membership, user=user, data=body)
            nudges.nudge(
                session,
                membership=membership,
                user=user,
                data=body,
                now=utcnow() + timedelta(days=1),
            )
        assert len(rows(engine, w.partner_b.id, kind="nudge")) == 2


class TestTheNudgePush:
    def test_discreet_unless_turned_off_and_dropped_once_answered(
        self, app: FastAPI, engine: Engine
    ) -> None:
        for discreet, body in ((True, sender.NEUTRAL), (False, "Your partner is thinking of you")):
            message = json.loads(
                sender.build_payload(
                    notification_id=uuid.uuid4(), kind="nudge", data={"url": "/"}, discreet=discreet
                )
            )
            assert message["body"] == body and message["title"] == "Tandem"
            assert "actions" not in message
        w = make_world(app)
        log_id = waiting_log(w)
        assert nudge(w.partner_a, w, session_id=log_id).status_code == 202
        [row] = rows(engine, w.partner_b.id, kind="nudge")
        claimed = Claimed(row.id, row.user_id, row.kind, row.payload, 1, row.expires_at)
        with Session(engine) as session:
            assert reminders.nudge_still_fits(session, claimed, utcnow()) is None
        assert w.partner_b.post(f"/api/sessions/{log_id}/confirm").status_code == 200
        with Session(engine) as session:
            assert reminders.nudge_still_fits(session, claimed, utcnow()) == "answered"
