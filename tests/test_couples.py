import uuid

from fastapi import FastAPI

from tests.factories import create_couple, invite, make_world, new_client, register


class TestCreateCouple:
    def test_the_creator_becomes_a_member(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist", name="Dr Lee")
        couple_id = create_couple(therapist, label="M & J")
        couple = therapist.get(f"/api/couples/{couple_id}").json()
        assert couple["label"] == "M & J"
        assert couple["members"] == [
            {"user_id": therapist.id, "display_name": "Dr Lee", "role": "therapist"}
        ]
        assert "this_week" in couple
        assert [c["id"] for c in therapist.get("/api/couples").json()] == [couple_id]

    def test_unknown_timezone_or_field_is_422(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        bad = [
            {"label": "x", "timezone": "Nowhere/Else"},
            {"label": "", "timezone": "UTC"},
            {"label": "x", "timezone": "UTC", "id": str(uuid.uuid4())},
        ]
        for body in bad:
            assert therapist.post("/api/couples", json=body).status_code == 422
        assert therapist.get("/api/couples").json() == []

    def test_a_partner_already_in_a_couple_cannot_found_another(self, app: FastAPI) -> None:
        world = make_world(app)
        answer = world.partner_a.post("/api/couples", json={"label": "x", "timezone": "UTC"})
        assert answer.status_code == 409


class TestInvitations:
    def test_codes_are_long_single_use_and_listed_without_code(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        created = therapist.post(
            f"/api/couples/{couple_id}/invitations", json={"role": "partner"}
        ).json()
        assert len(created["code"].replace("-", "")) >= 20  # 100 bits
        assert created["link"].endswith("#/join/" + created["code"])
        assert "?" not in created["link"]
        listed = therapist.get(f"/api/couples/{couple_id}/invitations").json()
        assert [i["id"] for i in listed] == [created["id"]]
        assert "code" not in listed[0]
        first = register(app)
        assert (
            first.post("/api/invitations/accept", json={"code": created["code"]}).status_code == 200
        )
        second = register(app)
        reused = second.post("/api/invitations/accept", json={"code": created["code"]})
        assert reused.status_code == 404
        assert "already used" in reused.json()["detail"]

    def test_a_therapist_invites_partners_only(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        answer = therapist.post(f"/api/couples/{couple_id}/invitations", json={"role": "therapist"})
        assert answer.status_code == 403
        answer = therapist.post(f"/api/couples/{couple_id}/invitations", json={"role": "guest"})
        assert answer.status_code == 422

    def test_a_partner_invites_the_other_partner_and_a_therapist(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        other = register(app, invitation_code=invite(partner, couple_id, "partner"))
        therapist = register(
            app, role="therapist", invitation_code=invite(partner, couple_id, "therapist")
        )
        roles = sorted(m["role"] for m in other.get(f"/api/couples/{couple_id}").json()["members"])
        assert roles == ["partner", "partner", "therapist"]
        assert therapist.get(f"/api/couples/{couple_id}").status_code == 200

    def test_a_third_partner_is_409(self, app: FastAPI) -> None:
        world = make_world(app)
        answer = world.therapist.post(
            f"/api/couples/{world.couple_id}/invitations", json={"role": "partner"}
        )
        assert answer.status_code == 409

    def test_accepting_with_the_wrong_account_role_is_403(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        code = invite(partner, couple_id, "therapist")
        other_partner = register(app)
        assert other_partner.post("/api/invitations/accept", json={"code": code}).status_code == 403

    def test_a_partner_of_another_couple_cannot_join(self, app: FastAPI) -> None:
        world = make_world(app)
        partner = register(app)
        couple_id = create_couple(partner)
        code = invite(partner, couple_id)
        assert (
            world.partner_a.post("/api/invitations/accept", json={"code": code}).status_code == 409
        )

    def test_partners_revoke_only_their_own_invitations(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        therapist = register(
            app, role="therapist", invitation_code=invite(partner, couple_id, "therapist")
        )
        by_therapist = therapist.post(
            f"/api/couples/{couple_id}/invitations", json={"role": "partner"}
        ).json()
        assert partner.delete(f"/api/invitations/{by_therapist['id']}").status_code == 403
        by_partner = partner.post(
            f"/api/couples/{couple_id}/invitations", json={"role": "partner"}
        ).json()
        assert partner.delete(f"/api/invitations/{by_partner['id']}").status_code == 204
        late = register(app)
        assert (
            late.post("/api/invitations/accept", json={"code": by_partner["code"]}).status_code
            == 404
        )
        assert therapist.delete(f"/api/invitations/{by_therapist['id']}").status_code == 204

    def test_garbage_codes_are_404_and_then_rate_limited(self, app: FastAPI) -> None:
        actor = register(app)
        statuses = [
            actor.post("/api/invitations/accept", json={"code": f"WRONG-{n}"}).status_code
            for n in range(10)
        ]
        assert statuses[0] == 404 and statuses[-1] == 429


class TestLeaving:
    def test_a_partner_leaves_alone_and_loses_access_at_once(self, app: FastAPI) -> None:
        world = make_world(app)
        assert world.partner_a.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        assert world.partner_a.get(f"/api/couples/{world.couple_id}").status_code == 404
        members = world.partner_b.get(f"/api/couples/{world.couple_id}").json()["members"]
        assert world.partner_a.id not in [m["user_id"] for m in members]
        # Free to join another couple afterwards.
        create_couple(world.partner_a)

    def test_either_partner_removes_the_therapist(self, app: FastAPI) -> None:
        world = make_world(app)
        path = f"/api/couples/{world.couple_id}/members/{world.therapist.id}"
        assert world.partner_b.delete(path).status_code == 204
        assert world.therapist.get(f"/api/couples/{world.couple_id}").status_code == 404

    def test_a_therapist_can_never_remove_a_partner(self, app: FastAPI) -> None:
        world = make_world(app)
        path = f"/api/couples/{world.couple_id}/members/{world.partner_a.id}"
        assert world.therapist.delete(path).status_code == 403
        assert world.partner_b.delete(path).status_code == 403
        assert world.partner_a.get(f"/api/couples/{world.couple_id}").status_code == 200

    def test_membership_changes_are_audited_for_the_member(self, app: FastAPI) -> None:
        world = make_world(app)
        world.partner_a.post(f"/api/couples/{world.couple_id}/leave")
        actions = [e["action"] for e in world.partner_a.get("/api/me/access-log").json()]
        assert "membership.left" in actions and "membership.joined" in actions


class TestNotFound:
    def test_unknown_malformed_and_foreign_ids_look_the_same(self, app: FastAPI) -> None:
        world = make_world(app)
        other = make_world(app)
        answers = [
            world.partner_a.get(f"/api/couples/{other.couple_id}"),
            world.partner_a.get(f"/api/couples/{uuid.uuid4()}"),
            world.partner_a.get("/api/couples/not-a-uuid"),
            world.partner_a.get("/api/couples/1"),
        ]
        assert {a.status_code for a in answers} == {404}
        assert len({a.text for a in answers}) == 1

    def test_anonymous_is_401(self, app: FastAPI) -> None:
        assert new_client(app).get("/api/couples").status_code == 401
