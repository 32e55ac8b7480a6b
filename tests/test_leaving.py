"""A partner leaves: nothing waits for them any more, and the people left behind are told."""

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tandem.couples import hooks
from tandem.reminders.models import Notification
from tests.factories import World, invite, make_world, register
from tests.measures_support import assign
from tests.plans_support import (
    INDIVIDUAL,
    JOINT,
    item,
    log,
    published_week,
    put_plan,
    this_monday,
)
from tests.practice_support import agreed, at, next_week, propose, settings_for


@pytest.fixture
def world(app: FastAPI) -> World:
    return make_world(app)


def plan_sessions(actor, couple_id: str, week: str = "current") -> dict[str, dict]:  # noqa: ANN001
    answer = actor.get(f"/api/couples/{couple_id}/plans/{week}")
    assert answer.status_code == 200, answer.text
    return {s["id"]: s for i in answer.json()["items"] for s in i["sessions"]}


def notifications(engine: Engine, user_id: str) -> list[Notification]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notification.kind, Notification.payload, Notification.dedupe_key).where(
                Notification.user_id == uuid.UUID(user_id)  # type: ignore[arg-type]
            )
        ).all()
    return [r for r in rows if r.kind == "partner_left"]


class TestWhenAPartnerLeaves:
    def test_their_waiting_logs_and_those_waiting_for_them_are_closed_with_a_reason(
        self, world: World
    ) -> None:
        # Last week: two different days (logging the same day would confirm the other's).
        week = this_monday() - timedelta(weeks=1)
        joint = published_week(world, week)["items"][0]["id"]
        by_leaver = log(world.partner_b, joint, done_on=str(week)).json()
        for_leaver = log(world.partner_a, joint, done_on=str(week + timedelta(days=1))).json()
        assert by_leaver["status"] == for_leaver["status"] == "awaiting_partner"
        this_week = published_week(world)["items"]
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204

        for reader in (world.partner_a, world.therapist):
            seen = plan_sessions(reader, world.couple_id, str(week))
            assert seen[by_leaver["id"]]["status"] == "withdrawn"
            assert seen[by_leaver["id"]]["withdrawn_reason"] == "author_left"
            assert seen[for_leaver["id"]]["status"] == "withdrawn"
            assert seen[for_leaver["id"]]["withdrawn_reason"] == "partner_left"
        plan = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/{week}").json()
        assert plan["items"][0]["progress"]["awaiting_partner"] == 0
        # Nobody can confirm a joint session now: logging one is refused, in plain words.
        refused = log(world.partner_a, this_week[0]["id"])
        assert refused.status_code == 409
        assert "only partner" in refused.json()["detail"]
        # An individual item goes on as before.
        assert log(world.partner_a, this_week[1]["id"]).status_code == 201

    def test_a_confirmed_or_disputed_log_is_history_and_stays(self, world: World) -> None:
        joint = published_week(world)["items"][0]["id"]
        done = log(world.partner_a, joint).json()
        world.partner_b.post(f"/api/sessions/{done['id']}/confirm")
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        seen = plan_sessions(world.partner_a, world.couple_id)
        assert seen[done["id"]]["status"] == "done"
        assert seen[done["id"]]["withdrawn_reason"] is None

    def test_an_authors_own_withdrawal_stays_out_of_sight(self, world: World) -> None:
        joint = published_week(world)["items"][0]["id"]
        taken_back = log(world.partner_a, joint).json()
        assert world.partner_a.delete(f"/api/sessions/{taken_back['id']}").status_code == 204
        assert taken_back["id"] not in plan_sessions(world.partner_a, world.couple_id)

    def test_the_other_partner_and_the_therapist_are_told(
        self, world: World, engine: Engine
    ) -> None:
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        (to_partner,) = notifications(engine, world.partner_a.id)
        assert to_partner.payload == {"couple_id": world.couple_id, "url": "/#/week"}
        (to_therapist,) = notifications(engine, world.therapist.id)
        assert to_therapist.payload["url"] == f"/#/couple/{world.couple_id}"
        assert notifications(engine, world.partner_b.id) == []
        # Nothing in the payload names anyone or anything.
        assert set(to_partner.payload) == {"couple_id", "url"}

        # Both see who left, and when; the one who left is no longer a member.
        for reader in (world.partner_a, world.therapist):
            couple = reader.get(f"/api/couples/{world.couple_id}").json()
            assert [m["user_id"] for m in couple["members"]].count(world.partner_b.id) == 0
            (former,) = couple["former_members"]
            assert former["user_id"] == world.partner_b.id
            assert former["display_name"] == "Sam" and former["role"] == "partner"
            assert former["left_at"]

    def test_someone_who_joins_later_never_learns_who_was_there_before(
        self, app: FastAPI, world: World
    ) -> None:
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        newcomer = register(app, invitation_code=invite(world.partner_a, world.couple_id))
        couple = newcomer.get(f"/api/couples/{world.couple_id}").json()
        assert couple["former_members"] == []
        assert "Sam" not in newcomer.get("/api/couples").text
        # Those who were there still see it.
        assert world.partner_a.get(f"/api/couples/{world.couple_id}").json()["former_members"]

    def test_deleting_an_account_leaves_the_same_way(self, world: World, engine: Engine) -> None:
        joint = published_week(world)["items"][0]["id"]
        waiting = log(world.partner_a, joint).json()
        deleted = world.partner_b.delete("/api/me", json={"password": world.partner_b.password})
        assert deleted.status_code == 204, deleted.text
        seen = plan_sessions(world.partner_a, world.couple_id)
        assert seen[waiting["id"]]["withdrawn_reason"] == "partner_left"
        assert len(notifications(engine, world.partner_a.id)) == 1
        assert len(notifications(engine, world.therapist.id)) == 1

    def test_a_therapist_ending_their_care_is_not_a_partner_leaving(
        self, world: World, engine: Engine
    ) -> None:
        joint = published_week(world)["items"][0]["id"]
        waiting = log(world.partner_a, joint).json()
        assert world.therapist.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        assert plan_sessions(world.partner_a, world.couple_id)[waiting["id"]]["status"] == (
            "awaiting_partner"
        )
        assert notifications(engine, world.partner_a.id) == []

    def test_a_rolled_back_leave_writes_no_notification(
        self, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The outbox rows are written in the leaving's own transaction: no leave, no rows."""
        real = hooks.partner_left

        def failing(session, event):  # noqa: ANN001, ANN202
            real(session, event)
            session.flush()  # the rows were written...
            raise RuntimeError("the database went away")  # ...and the leaving fails

        monkeypatch.setattr(hooks, "partner_left", failing)
        world.partner_b.client.raise_server_exceptions = False
        answer = world.partner_b.post(f"/api/couples/{world.couple_id}/leave")
        assert answer.status_code == 500
        monkeypatch.undo()
        assert notifications(engine, world.partner_a.id) == []
        assert world.partner_b.get(f"/api/couples/{world.couple_id}").status_code == 200


class TestTherapyAlone:
    """A couple with one partner: individual exercises, never a joint one that waits forever."""

    @pytest.fixture
    def alone(self, app: FastAPI) -> World:
        therapist = register(app, role="therapist", name="Dr Rivera")
        answer = therapist.post("/api/couples", json={"label": "Solo", "timezone": "Europe/Berlin"})
        couple_id = answer.json()["id"]
        partner = register(app, invitation_code=invite(therapist, couple_id), name="Alex")
        return World(couple_id, therapist, partner, partner)

    def test_a_joint_item_is_refused_with_a_clear_422(self, alone: World) -> None:
        url = f"/api/couples/{alone.couple_id}/plans/{this_monday()}"
        answer = alone.therapist.put(
            url, json={"items": [item(INDIVIDUAL, "individual", 2), item(JOINT, "joint", 1)]}
        )
        assert answer.status_code == 422
        assert answer.json()["detail"] == (
            "Item 2: a joint exercise needs two partners, and this couple has one. "
            "Choose an individual exercise instead."
        )
        plan = published_week(alone, items=[item(INDIVIDUAL, "individual", 3)])
        only = plan["items"][0]
        assert only["assignee_ids"] == [alone.partner_a.id]
        assert only["progress"]["by_partner"] == [
            {"user_id": alone.partner_a.id, "done": 0, "target": 3}
        ]
        assert log(alone.partner_a, only["id"]).status_code == 201

    def test_publishing_a_draft_with_a_joint_item_after_a_partner_left_is_409(
        self, world: World
    ) -> None:
        put_plan(world, this_monday(), [item(JOINT, "joint", 2)])
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        answer = world.therapist.post(
            f"/api/couples/{world.couple_id}/plans/{this_monday()}/publish"
        )
        assert answer.status_code == 409
        assert "one partner" in answer.json()["detail"]

    def test_before_anyone_joins_a_therapist_may_still_plan_together_time(
        self, app: FastAPI
    ) -> None:
        therapist = register(app, role="therapist")
        couple_id = therapist.post(
            "/api/couples", json={"label": "New", "timezone": "Europe/Berlin"}
        ).json()["id"]
        answer = therapist.put(
            f"/api/couples/{couple_id}/plans/{this_monday()}", json={"items": [item(JOINT)]}
        )
        assert answer.status_code == 200, answer.text


def pending_kinds(engine: Engine, user_id: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notification.kind).where(
                Notification.user_id == uuid.UUID(user_id),  # type: ignore[arg-type]
                Notification.state == "pending",  # type: ignore[arg-type]
            )
        ).all()
    return sorted(r.kind for r in rows)


def mark_sent(engine: Engine, user_id: str, kind: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(
                Notification.user_id == uuid.UUID(user_id),  # type: ignore[arg-type]
                Notification.kind == kind,  # type: ignore[arg-type]
            )
            .values(state="sent")
        )


def everything_waiting_for(w: World) -> None:
    """Sam is waiting to hear of a session to confirm, a nudge about it, a time proposed and
    a time agreed, a questionnaire, the appointment, the plan; and has daily reminders on."""
    joint = published_week(w)["items"][0]["id"]
    waiting = log(w.partner_a, joint).json()
    assert (
        w.partner_a.post(
            f"/api/couples/{w.couple_id}/nudges", json={"session_id": waiting["id"]}
        ).status_code
        == 202
    )
    week, plan = next_week(w)
    together = plan["items"][0]["id"]
    agreed(w.partner_a, w.partner_b, together, at(week + timedelta(days=1), time(19, 0)))
    propose(w.partner_a, together, at(week + timedelta(days=2), time(19, 0)))
    assign(w, "csi4", w.partner_b)
    starts = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert (
        w.therapist.put(
            f"/api/couples/{w.couple_id}/next-appointment", json={"starts_at": starts}
        ).status_code
        == 200
    )
    settings_for(w.partner_b, enabled=True, times=["21:00"])


class TestWhatWaitedForTheLeaver:
    def test_every_pending_row_about_the_couple_is_cancelled_with_the_leaving(
        self, world: World, engine: Engine
    ) -> None:
        everything_waiting_for(world)
        before = pending_kinds(engine, world.partner_b.id)
        for kind in (
            "appointment",
            "joint_session_logged",
            "measure_due",
            "nudge",
            "plan_published",
            "reminder",
            "slot",
            "slot_proposed",
        ):
            assert kind in before, (kind, before)
        mark_sent(engine, world.partner_b.id, "plan_published")  # already on the phone
        alex_before = pending_kinds(engine, world.partner_a.id)

        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204

        # Only the daily reminders stay: they ask at send time whether any plan still is Sam's.
        assert set(pending_kinds(engine, world.partner_b.id)) == {"reminder"}
        with engine.connect() as connection:
            sent = connection.execute(
                select(Notification.kind).where(
                    Notification.user_id == uuid.UUID(world.partner_b.id),  # type: ignore[arg-type]
                    Notification.state == "sent",  # type: ignore[arg-type]
                )
            ).all()
        assert {r.kind for r in sent} == {"plan_published"}  # history is not rewritten
        # Alex's own rows are Alex's: nothing of theirs was cancelled, and they are told.
        assert pending_kinds(engine, world.partner_a.id) == sorted([*alex_before, "partner_left"])

    def test_a_rolled_back_leave_cancels_nothing(
        self, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        everything_waiting_for(world)
        before = pending_kinds(engine, world.partner_b.id)

        def failing(session, event):  # noqa: ANN001, ANN202
            session.flush()
            raise RuntimeError("the database went away")

        monkeypatch.setattr(hooks, "partner_left", failing)
        world.partner_b.client.raise_server_exceptions = False
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 500
        assert pending_kinds(engine, world.partner_b.id) == before
