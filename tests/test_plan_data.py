"""A person's export holds their session logs and assigned plans; deleting the account
removes their own logs and keeps the joint history of the other partner."""

from tests.factories import make_world
from tests.plans_support import log, published_week


def test_export_and_deletion_of_plan_data(app):
    world = make_world(app)
    plan = published_week(world)
    joint, solo = (i["id"] for i in plan["items"])
    own = log(world.partner_a, solo).json()
    shared = log(world.partner_a, joint).json()
    world.partner_b.post(f"/api/sessions/{shared['id']}/confirm")

    export = world.partner_a.get("/api/me/export").json()
    assert {s["id"] for s in export["session_logs"]} == {own["id"], shared["id"]}
    assert [p["id"] for p in export["plans"]] == [plan["id"]]
    assert len(export["plans"][0]["items"]) == 2
    custom = world.therapist.post(
        "/api/exercises", json={"title": "Mine", "category": "other", "instructions": "x"}
    ).json()
    assert [e["id"] for e in world.therapist.get("/api/me/export").json()["custom_exercises"]] == [
        custom["id"]
    ]

    assert world.partner_a.delete_account().status_code == 204
    after = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").json()
    sessions = {s["id"]: s for i in after["items"] for s in i["sessions"]}
    assert shared["id"] in sessions and sessions[shared["id"]]["status"] == "done"
    assert own["id"] not in sessions
    assert world.therapist.delete_account().status_code == 204
    assert world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").status_code == 200
