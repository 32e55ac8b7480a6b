import uuid

from sqlmodel import Session, col, func, select

from tandem.exercises import service
from tandem.exercises.models import Exercise
from tests.factories import create_couple, invite, make_world, register
from tests.plans_support import item, publish, put_plan, this_monday

CUSTOM = {"title": "Our walk", "category": "other", "instructions": "Walk.\n\nTalk."}


def _builtin_count(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(col(Exercise.custom).is_(False))).one()


class TestBuiltInLibrary:
    def test_every_entry_is_loaded_once_with_a_stable_id(self, app, engine):
        therapist = register(app, role="therapist")
        listed = therapist.get("/api/exercises").json()
        entries = service.library_entries()
        builtin = {e["id"]: e for e in listed if not e["custom"]}
        assert len(builtin) == len(entries) >= 20
        for entry in entries:
            assert str(service.builtin_id(entry["key"])) in builtin
        assert len({e["category"] for e in builtin.values()}) >= 6

    def test_loading_again_writes_nothing_and_duplicates_nothing(self, app, engine):
        service.ensure_library(engine)
        assert service.sync_library(engine) == 0
        assert _builtin_count(engine) == len(service.library_entries())

    def test_a_changed_entry_is_updated_in_place(self, app, engine, monkeypatch):
        service.ensure_library(engine)
        original = service.library_entries()
        changed = [dict(e) for e in original]
        changed[0]["title"] = "A better title"
        changed[0]["default_minutes"] = 33
        monkeypatch.setattr(service, "library_entries", lambda: tuple(changed))
        try:
            assert service.sync_library(engine) == 1
            with Session(engine) as session:
                row = session.get(Exercise, service.builtin_id(changed[0]["key"]))
                assert (row.title, row.default_minutes) == ("A better title", 33)
            assert _builtin_count(engine) == len(original)
        finally:
            monkeypatch.setattr(service, "library_entries", lambda: original)
            service.sync_library(engine)

    def test_a_category_filter_narrows_the_list(self, app):
        partner = register(app)
        listed = partner.get("/api/exercises", params={"category": "sensate_focus"}).json()
        assert listed and {e["category"] for e in listed} == {"sensate_focus"}
        assert {e["stage"] for e in listed} == {1, 2, 3}
        assert partner.get("/api/exercises", params={"category": "nope"}).status_code == 422


class TestCustomExercises:
    def test_the_therapist_and_their_couples_see_it_and_nobody_else(self, app):
        world = make_world(app)
        created = world.therapist.post("/api/exercises", json=CUSTOM)
        assert created.status_code == 201, created.text
        exercise = created.json()
        assert exercise["custom"] is True and exercise["default_times_per_week"] == 2
        for actor in (world.therapist, world.partner_a, world.partner_b):
            assert actor.get(f"/api/exercises/{exercise['id']}").status_code == 200
            assert exercise["id"] in {e["id"] for e in actor.get("/api/exercises").json()}
        other = make_world(app)
        for actor in (other.therapist, other.partner_a, register(app)):
            assert actor.get(f"/api/exercises/{exercise['id']}").status_code == 404
            assert exercise["id"] not in {e["id"] for e in actor.get("/api/exercises").json()}

    def test_a_planned_one_stays_visible_after_the_therapist_leaves(self, app):
        world = make_world(app)
        exercise = world.therapist.post("/api/exercises", json=CUSTOM).json()
        put_plan(world, this_monday(), [item(exercise["id"], "joint", 1)])
        publish(world, this_monday())
        therapist_id = world.therapist.id
        left = world.partner_a.delete(f"/api/couples/{world.couple_id}/members/{therapist_id}")
        assert left.status_code == 204
        assert world.partner_b.get(f"/api/exercises/{exercise['id']}").status_code == 200
        plan = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert plan["items"][0]["title"] == "Our walk"

    def test_a_new_therapist_can_keep_a_predecessors_item(self, app):
        world = make_world(app)
        exercise = world.therapist.post("/api/exercises", json=CUSTOM).json()
        plan = put_plan(world, this_monday(), [item(exercise["id"], "joint", 1)])
        world.therapist.post(f"/api/couples/{world.couple_id}/leave")
        successor = register(app, role="therapist")
        code = invite(world.partner_a, world.couple_id, role="therapist")
        assert successor.post("/api/invitations/accept", json={"code": code}).status_code == 200
        kept = {**item(exercise["id"], "joint", 2), "id": plan["items"][0]["id"]}
        answer = successor.put(
            f"/api/couples/{world.couple_id}/plans/{this_monday()}", json={"items": [kept]}
        )
        assert answer.status_code == 200, answer.text
        # A therapist of another couple cannot assign it.
        other = make_world(app)
        refused = other.therapist.put(
            f"/api/couples/{other.couple_id}/plans/{this_monday()}",
            json={"items": [item(exercise["id"], "joint", 1)]},
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == "Unknown exercise"

    def test_only_its_owner_edits_it(self, app):
        therapist = register(app, role="therapist")
        create_couple(therapist)
        exercise = therapist.post("/api/exercises", json=CUSTOM).json()
        changed = therapist.patch(
            f"/api/exercises/{exercise['id']}", json={"title": "Our long walk", "stage": None}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["title"] == "Our long walk"
        other = register(app, role="therapist")
        assert (
            other.patch(f"/api/exercises/{exercise['id']}", json={"title": "x"}).status_code == 404
        )
        builtin = service.builtin_id("body-scan")
        assert therapist.patch(f"/api/exercises/{builtin}", json={"title": "x"}).status_code == 403
        assert therapist.patch(f"/api/exercises/{uuid.uuid4()}", json={}).status_code == 404
        assert therapist.patch("/api/exercises/not-an-id", json={}).status_code == 404

    def test_bad_input_is_refused_with_a_reason(self, app):
        therapist = register(app, role="therapist")
        for body in (
            {**CUSTOM, "category": "nonsense"},
            {**CUSTOM, "stage": 2},  # "other" has no stages
            {**CUSTOM, "category": "sensate_focus", "stage": 4},
            {**CUSTOM, "default_times_per_week": 15},
            {**CUSTOM, "title": ""},
            {**CUSTOM, "surprise": True},
        ):
            answer = therapist.post("/api/exercises", json=body)
            assert answer.status_code == 422, body
            assert answer.json()["detail"]
        exercise = therapist.post("/api/exercises", json=CUSTOM).json()
        assert (
            therapist.patch(f"/api/exercises/{exercise['id']}", json={"stage": 1}).status_code
            == 422
        )
        assert (
            therapist.patch(f"/api/exercises/{exercise['id']}", json={"title": None}).status_code
            == 422
        )
