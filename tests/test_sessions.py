import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.reminders.models import Notification
from tests.factories import Actor, make_world
from tests.plans_support import (
    INDIVIDUAL,
    item,
    log,
    published_week,
    put_plan,
    this_monday,
    today,
)


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.fixture
def plan(world):
    return published_week(world)  # items: joint ×3, individual ×2 for both


REMINDERS = {"enabled": False, "times": [], "weekdays": [0, 1, 2, 3, 4, 5, 6]}
REMINDERS |= {"timezone": "Europe/Berlin", "discreet": True, "paused_until": None}


def told(engine: Engine, actor: Actor) -> list[tuple[str, str, datetime]]:
    """What the outbox holds for `actor` about sessions: (kind, session id, due at)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Notification)
            .where(Notification.user_id == uuid.UUID(actor.id))
            .where(col(Notification.kind).in_(["joint_session_logged", "session_confirmed"]))
            .order_by(col(Notification.created_at))
        ).all()
    return [(r.kind, r.payload["session_id"], r.due_at) for r in rows]


def kinds(engine: Engine, actor: Actor) -> list[tuple[str, str]]:
    return [(kind, session_id) for kind, session_id, _ in told(engine, actor)]


def progress(world, index: int) -> dict:
    """The item's totals (each partner's own count is checked where it matters)."""
    plan = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
    return {k: v for k, v in plan["items"][index]["progress"].items() if k != "by_partner"}


def by_partner(world, index: int) -> dict[str, tuple[int, int]]:
    plan = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
    return {
        p["user_id"]: (p["done"], p["target"])
        for p in plan["items"][index]["progress"]["by_partner"]
    }


class TestLoggingAnIndividualItem:
    def test_it_counts_at_once_and_a_replay_counts_nothing(self, world, plan):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        first = log(world.partner_a, solo, client_id)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["status"] == "done" and body["logged_by"] == world.partner_a.id
        assert body["done_on"] == str(today()) and body["client_id"] == client_id
        again = log(world.partner_a, solo, client_id)
        assert again.status_code == 200 and again.json() == body
        assert progress(world, 1) == {"done": 1, "target": 4, "awaiting_partner": 0}
        assert by_partner(world, 1) == {world.partner_a.id: (1, 2), world.partner_b.id: (0, 2)}

    def test_the_same_client_id_by_the_other_partner_is_theirs(self, world, plan):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        assert log(world.partner_a, solo, client_id).status_code == 201
        assert log(world.partner_b, solo, client_id).status_code == 201
        assert progress(world, 1)["done"] == 2

    def test_a_client_id_used_for_another_item_is_a_conflict(self, world, plan):
        client_id = str(uuid.uuid4())
        assert log(world.partner_a, plan["items"][1]["id"], client_id).status_code == 201
        assert log(world.partner_a, plan["items"][0]["id"], client_id).status_code == 409

    def test_only_an_assignee_logs_it(self, world):
        plan = put_plan(
            world,
            this_monday(),
            [item(INDIVIDUAL, "individual", 2, assignee_ids=[world.partner_a.id])],
        )
        world.therapist.post(f"/api/couples/{world.couple_id}/plans/{this_monday()}/publish")
        solo = plan["items"][0]["id"]
        assert log(world.partner_b, solo).status_code == 403
        assert log(world.therapist, solo).status_code == 403
        assert log(world.partner_a, solo).status_code == 201

    def test_the_author_withdraws_it_within_its_week_and_a_replay_cannot_revive_it(
        self, world, plan
    ):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        logged = log(world.partner_a, solo, client_id).json()
        assert world.partner_b.delete(f"/api/sessions/{logged['id']}").status_code == 403
        assert world.partner_a.delete(f"/api/sessions/{logged['id']}").status_code == 204
        assert world.partner_a.delete(f"/api/sessions/{logged['id']}").status_code == 204
        replay = log(world.partner_a, solo, client_id)
        assert replay.status_code == 200 and replay.json()["status"] == "withdrawn"
        assert progress(world, 1)["done"] == 0

    def test_a_past_weeks_log_cannot_be_withdrawn(self, world):
        last_week = this_monday() - timedelta(weeks=1)
        plan = published_week(world, last_week, [item(INDIVIDUAL, "individual", 2)])
        logged = log(world.partner_a, plan["items"][0]["id"], done_on=str(last_week))
        assert logged.status_code == 201, logged.text
        assert world.partner_a.delete(f"/api/sessions/{logged.json()['id']}").status_code == 409


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"client_id": "not-a-uuid"},
            {},
            {"client_id": str(uuid.uuid4()), "done_on": "someday"},
            {"client_id": str(uuid.uuid4()), "extra": 1},
        ],
    )
    def test_malformed_bodies_are_422(self, world, plan, body):
        answer = world.partner_a.post(
            f"/api/plan-items/{plan['items'][1]['id']}/sessions", json=body
        )
        assert answer.status_code == 422

    def test_a_day_outside_the_week_or_in_the_future_is_422_and_writes_nothing(self, world, plan):
        solo = plan["items"][1]["id"]
        for day in (this_monday() - timedelta(days=1), today() + timedelta(days=1)):
            answer = log(world.partner_a, solo, done_on=str(day))
            assert answer.status_code == 422
            assert "done_on" in answer.json()["detail"]
        assert progress(world, 1)["done"] == 0

    def test_a_draft_or_unknown_item_is_404(self, world):
        draft = put_plan(world, this_monday(), [item(INDIVIDUAL, "individual")])
        assert log(world.partner_a, draft["items"][0]["id"]).status_code == 404
        assert log(world.partner_a, str(uuid.uuid4())).status_code == 404
        assert log(world.partner_a, "nope").status_code == 404

    def test_another_couples_item_is_404(self, app, world, plan):
        other = make_world(app)
        assert log(other.partner_a, plan["items"][1]["id"]).status_code == 404


class TestJointSessions:
    def test_a_joint_log_waits_until_the_other_partner_confirms(self, world, plan, engine):
        joint = plan["items"][0]["id"]
        logged = log(world.partner_a, joint)
        assert logged.status_code == 201
        waiting = logged.json()
        assert waiting["status"] == "awaiting_partner"
        assert kinds(engine, world.partner_b) == [("joint_session_logged", waiting["id"])]
        assert kinds(engine, world.partner_a) == []
        assert progress(world, 0) == {"done": 0, "target": 3, "awaiting_partner": 1}
        sessions = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert sessions["items"][0]["sessions"][0]["id"] == waiting["id"]

        assert world.partner_a.post(f"/api/sessions/{waiting['id']}/confirm").status_code == 403
        assert world.therapist.post(f"/api/sessions/{waiting['id']}/confirm").status_code == 403
        confirmed = world.partner_b.post(f"/api/sessions/{waiting['id']}/confirm")
        assert confirmed.status_code == 200
        assert confirmed.json()["status"] == "done"
        assert confirmed.json()["confirmed_by"] == world.partner_b.id
        assert kinds(engine, world.partner_a) == [("session_confirmed", waiting["id"])]
        assert progress(world, 0) == {"done": 1, "target": 3, "awaiting_partner": 0}
        # Confirming again is the same answer; disputing or withdrawing now is too late.
        again = world.partner_b.post(f"/api/sessions/{waiting['id']}/confirm")
        assert again.status_code == 200 and again.json() == confirmed.json()
        assert kinds(engine, world.partner_a) == [("session_confirmed", waiting["id"])]
        assert world.partner_b.post(f"/api/sessions/{waiting['id']}/dispute").status_code == 409
        assert world.partner_a.delete(f"/api/sessions/{waiting['id']}").status_code == 409

    def test_a_disputed_log_does_not_count(self, world, plan):
        waiting = log(world.partner_a, plan["items"][0]["id"]).json()
        disputed = world.partner_b.post(f"/api/sessions/{waiting['id']}/dispute")
        assert disputed.status_code == 200
        assert disputed.json()["status"] == "disputed"
        assert disputed.json()["disputed_by"] == world.partner_b.id
        assert world.partner_b.post(f"/api/sessions/{waiting['id']}/confirm").status_code == 409
        assert progress(world, 0) == {"done": 0, "target": 3, "awaiting_partner": 0}

    def test_the_other_partner_logging_the_same_day_confirms_it(self, world, plan, engine):
        joint = plan["items"][0]["id"]
        waiting = log(world.partner_a, joint).json()
        client_id = str(uuid.uuid4())
        answer = log(world.partner_b, joint, client_id)
        assert answer.status_code == 200
        assert answer.json()["id"] == waiting["id"]
        assert answer.json()["status"] == "done"
        assert answer.json()["confirmed_by"] == world.partner_b.id
        assert kinds(engine, world.partner_a) == [("session_confirmed", waiting["id"])]
        # Their replay answers the same confirmed log and counts nothing more.
        replay = log(world.partner_b, joint, client_id)
        assert replay.status_code == 200 and replay.json() == answer.json()
        assert progress(world, 0) == {"done": 1, "target": 3, "awaiting_partner": 0}

    def test_each_notice_waits_for_the_end_of_its_readers_quiet_hours(self, world, plan, engine):
        # Read with the write's own context (no ORM session): B's quiet hours hold B's notice
        # back; A has none, so A's comes at once.
        quiet = {"start": "00:00", "end": "23:59"}
        settings = {**REMINDERS, "quiet_hours": quiet, "timezone": "America/New_York"}
        assert world.partner_b.put("/api/me/reminders", json=settings).status_code == 200
        joint = plan["items"][0]["id"]
        before = datetime.now(UTC)
        waiting = log(world.partner_a, joint).json()
        [(_, _, due)] = told(engine, world.partner_b)
        local = due.astimezone(ZoneInfo("America/New_York"))
        assert (local.hour, local.minute) == (23, 59) and due > before
        log(world.partner_b, joint)
        [(kind, session_id, due)] = told(engine, world.partner_a)
        assert (kind, session_id) == ("session_confirmed", waiting["id"])
        assert before <= due <= datetime.now(UTC)

    def test_the_same_partner_logging_twice_makes_two_waiting_logs(self, world, plan):
        joint = plan["items"][0]["id"]
        assert log(world.partner_a, joint).status_code == 201
        assert log(world.partner_a, joint).status_code == 201
        assert progress(world, 0)["awaiting_partner"] == 2

    def test_the_author_withdraws_it_before_it_is_confirmed(self, world, plan):
        waiting = log(world.partner_a, plan["items"][0]["id"]).json()
        assert world.partner_a.delete(f"/api/sessions/{waiting['id']}").status_code == 204
        assert world.partner_b.post(f"/api/sessions/{waiting['id']}/confirm").status_code == 409
        assert progress(world, 0)["awaiting_partner"] == 0

    def test_an_individual_log_is_never_waiting(self, world, plan):
        logged = log(world.partner_a, plan["items"][1]["id"]).json()
        assert world.partner_b.post(f"/api/sessions/{logged['id']}/confirm").status_code == 409

    def test_outsiders_and_malformed_ids_get_404(self, app, world, plan):
        waiting = log(world.partner_a, plan["items"][0]["id"]).json()
        other = make_world(app)
        assert other.partner_a.post(f"/api/sessions/{waiting['id']}/confirm").status_code == 404
        assert other.partner_a.delete(f"/api/sessions/{waiting['id']}").status_code == 404
        assert world.partner_b.post("/api/sessions/nope/confirm").status_code == 404
        assert world.partner_b.post(f"/api/sessions/{uuid.uuid4()}/dispute").status_code == 404
