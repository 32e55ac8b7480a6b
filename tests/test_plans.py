import uuid
from datetime import timedelta

import pytest

from tandem.exercises.service import builtin_id
from tandem.reminders import notices
from tests.factories import make_world
from tests.plans_support import (
    INDIVIDUAL,
    JOINT,
    item,
    log,
    publish,
    published_week,
    put_plan,
    this_monday,
)

HUG = str(builtin_id("hug-until-relaxed"))


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.fixture
def calls(monkeypatch):
    """Every event the plans domain raised, by name."""
    seen: dict[str, list[dict]] = {"plan_published": [], "joint": [], "confirmed": []}
    monkeypatch.setattr(
        notices, "plan_published", lambda _s, **kw: seen["plan_published"].append(kw)
    )
    monkeypatch.setattr(notices, "joint_practice_logged", lambda _s, **kw: seen["joint"].append(kw))
    monkeypatch.setattr(
        notices, "practice_confirmed", lambda _s, **kw: seen["confirmed"].append(kw)
    )
    return seen


def url(world, week, suffix: str = "") -> str:
    return f"/api/couples/{world.couple_id}/plans/{week}{suffix}"


class TestDraftAndPublish:
    def test_partners_see_a_plan_only_once_published(self, world, calls):
        week = this_monday()
        draft = put_plan(world, week, [item(JOINT, "joint", 3)], note="Go slowly")
        assert draft["status"] == "draft" and draft["note"] == "Go slowly"
        for partner in (world.partner_a, world.partner_b):
            assert partner.get(url(world, week)).status_code == 404
            assert partner.get(url(world, "current")).status_code == 404
        assert world.therapist.get(url(world, "current")).json()["id"] == draft["id"]
        published = publish(world, week)
        assert published["status"] == "published"
        assert len(calls["plan_published"]) == 1
        assert set(map(str, calls["plan_published"][0]["partner_ids"])) == {
            world.partner_a.id,
            world.partner_b.id,
        }
        seen = world.partner_b.get(url(world, "current")).json()
        assert seen["id"] == draft["id"] and seen["week_start"] == str(week)
        first = seen["items"][0]
        assert first["title"] and first["minutes"] > 0 and first["exercise_id"] == JOINT
        assert first["progress"] == {
            "done": 0,
            "target": 3,
            "awaiting_partner": 0,
            "by_partner": [
                {"user_id": world.partner_a.id, "done": 0, "target": 3},
                {"user_id": world.partner_b.id, "done": 0, "target": 3},
            ],
        }
        assert set(first["assignee_ids"]) == {world.partner_a.id, world.partner_b.id}

    def test_publishing_again_is_ok_and_notifies_nobody(self, world, calls):
        published_week(world)
        assert publish(world, this_monday())["status"] == "published"
        assert len(calls["plan_published"]) == 1

    def test_an_empty_plan_or_no_plan_cannot_be_published(self, world):
        week = this_monday() + timedelta(weeks=1)
        assert world.therapist.post(url(world, week, "/publish")).status_code == 404
        put_plan(world, week, [])
        assert world.therapist.post(url(world, week, "/publish")).status_code == 409

    def test_a_put_replaces_a_draft(self, world):
        week = this_monday()
        first = put_plan(world, week, [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual")])
        kept = first["items"][1]
        second = put_plan(world, week, [{**item(INDIVIDUAL, "individual", 5), "id": kept["id"]}])
        assert [i["id"] for i in second["items"]] == [kept["id"]]
        assert second["items"][0]["times_per_week"] == 5
        assert second["items"][0]["progress"]["target"] == 10

    def test_an_individual_item_for_one_partner_counts_once(self, world):
        plan = put_plan(
            world,
            this_monday(),
            [item(INDIVIDUAL, "individual", 4, assignee_ids=[world.partner_b.id])],
        )
        assert plan["items"][0]["assignee_ids"] == [world.partner_b.id]
        assert plan["items"][0]["progress"]["target"] == 4


class TestBadInput:
    @pytest.mark.parametrize("week", ["2026-13-01", "yesterday", "1"])
    def test_a_malformed_week_is_422(self, world, week):
        answer = world.therapist.put(url(world, week), json={"items": []})
        assert answer.status_code == 422
        assert "week_start" in answer.json()["detail"]
        assert world.therapist.get(url(world, week)).status_code == 422

    def test_a_week_that_is_not_a_monday_is_422(self, world):
        tuesday = this_monday() + timedelta(days=1)
        answer = world.therapist.put(url(world, tuesday), json={"items": []})
        assert answer.status_code == 422
        assert answer.json()["detail"] == "week_start must be a Monday"

    @pytest.mark.parametrize(
        "bad",
        [
            item(str(uuid.uuid4())),
            item(JOINT, times=0),
            item(JOINT, times=15),
            item(JOINT, mode="sometimes"),
            item("not-a-uuid"),
            item(INDIVIDUAL, "individual", assignee_ids=[str(uuid.uuid4())]),
            {**item(JOINT), "id": str(uuid.uuid4())},
            {**item(JOINT), "colour": "red"},
        ],
    )
    def test_bad_items_are_refused_and_nothing_is_written(self, world, bad):
        week = this_monday()
        answer = world.therapist.put(url(world, week), json={"items": [item(), bad]})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"]
        assert world.therapist.get(url(world, week)).status_code == 404

    def test_an_assignee_from_another_couple_is_refused(self, app, world):
        other = make_world(app)
        body = {"items": [item(INDIVIDUAL, "individual", assignee_ids=[other.partner_a.id])]}
        answer = world.therapist.put(url(world, this_monday()), json=body)
        assert answer.status_code == 422
        assert "partners of this couple" in answer.json()["detail"]

    def test_a_joint_item_is_for_both_partners(self, world):
        body = {"items": [item(JOINT, "joint", assignee_ids=[world.partner_a.id])]}
        answer = world.therapist.put(url(world, this_monday()), json=body)
        assert answer.status_code == 422

    def test_an_unknown_couple_or_week_is_404(self, world):
        assert world.therapist.get(f"/api/couples/{uuid.uuid4()}/plans/current").status_code == 404
        assert world.therapist.get("/api/couples/nope/plans/current").status_code == 404
        assert (
            world.therapist.get(url(world, this_monday() - timedelta(weeks=8))).status_code == 404
        )


class TestAmendingAPublishedPlan:
    def test_items_are_kept_updated_added_and_archived_without_losing_a_log(self, world):
        plan = published_week(world)
        joint, solo = plan["items"]
        logged = log(world.partner_a, solo["id"])
        assert logged.status_code == 201
        amended = put_plan(
            world,
            this_monday(),
            [
                {**item(JOINT, "joint", 5, instructions="Twice at the weekend"), "id": joint["id"]},
                item(HUG, "joint", 7),
            ],
            note="Changed",
        )
        assert amended["status"] == "published" and amended["note"] == "Changed"
        assert [i["id"] for i in amended["items"]][0] == joint["id"]
        assert amended["items"][0]["times_per_week"] == 5
        assert amended["items"][0]["instructions"] == "Twice at the weekend"
        assert len(amended["items"]) == 2
        assert solo["id"] not in {i["id"] for i in amended["items"]}
        # The archived item's log is still there: its replay answers it, unchanged.
        replay = log(world.partner_a, solo["id"], logged.json()["client_id"])
        assert replay.status_code == 404  # the item has left the plan...
        export = world.partner_a.get("/api/me/export").json()
        assert logged.json()["id"] in {s["id"] for s in export["session_logs"]}  # ...not the log

    def test_a_waiting_log_of_an_archived_item_cannot_be_answered(self, world):
        plan = published_week(world)
        joint, solo = plan["items"]
        waiting = log(world.partner_a, joint["id"])
        assert waiting.json()["status"] == "awaiting_partner"
        put_plan(world, this_monday(), [{**item(INDIVIDUAL, "individual", 2), "id": solo["id"]}])
        # Gone from the plan: answering its log is 404, as logging it is.
        session_id = waiting.json()["id"]
        assert world.partner_b.post(f"/api/sessions/{session_id}/confirm").status_code == 404
        assert world.partner_b.post(f"/api/sessions/{session_id}/dispute").status_code == 404
        assert log(world.partner_b, joint["id"]).status_code == 404

    def test_a_published_item_keeps_its_exercise_and_mode(self, world):
        plan = published_week(world)
        joint = plan["items"][0]
        answer = world.therapist.put(
            url(world, this_monday()),
            json={"items": [{**item(JOINT, "individual", 3), "id": joint["id"]}]},
        )
        assert answer.status_code == 422


class TestCopyForward:
    def test_it_makes_next_weeks_draft_once(self, world):
        week = this_monday()
        plan = put_plan(
            world,
            week,
            [
                item(JOINT, "joint", 3),
                item(INDIVIDUAL, "individual", 2, assignee_ids=[world.partner_a.id]),
            ],
            note="Same again",
        )
        copied = world.therapist.post(url(world, week, "/copy-forward"))
        assert copied.status_code == 201, copied.text
        copy = copied.json()
        assert copy["status"] == "draft" and copy["note"] == "Same again"
        assert copy["week_start"] == str(week + timedelta(days=7))
        assert [
            (i["exercise_id"], i["times_per_week"], i["assignee_ids"]) for i in copy["items"]
        ] == [(i["exercise_id"], i["times_per_week"], i["assignee_ids"]) for i in plan["items"]]
        assert {i["id"] for i in copy["items"]}.isdisjoint({i["id"] for i in plan["items"]})
        assert world.therapist.post(url(world, week, "/copy-forward")).status_code == 409
        assert (
            world.therapist.post(url(world, week - timedelta(weeks=1), "/copy-forward")).status_code
            == 404
        )


class TestCoupleAnswer:
    def test_this_week_shows_done_and_target_of_the_published_plan(self, world):
        couple = world.partner_a.get(f"/api/couples/{world.couple_id}").json()
        assert couple["this_week"] is None
        plan = published_week(world)  # joint 3 + individual 2 × 2 partners
        assert log(world.partner_a, plan["items"][1]["id"]).status_code == 201
        couple = world.partner_b.get(f"/api/couples/{world.couple_id}").json()
        assert couple["this_week"] == {"done": 1, "target": 7}
        listed = world.therapist.get("/api/couples").json()
        assert [c["this_week"] for c in listed if c["id"] == world.couple_id] == [
            {"done": 1, "target": 7}
        ]
