"""Therapist profiles, invitation previews and next appointments."""

import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.appointments.models import Appointment
from tandem.core.db import utcnow
from tandem.core.security import digest, normalize_code
from tandem.couples.models import Invitation
from tests.factories import Actor, create_couple, invite, make_world, new_client, register

FULL_PROFILE = {
    "display_name": "Dr Ana Rivera",
    "education": "PhD clinical psychology",
    "licence": "Licensed psychologist, Berlin, no. 12345",
    "certifications": "AASECT certified sex therapist",
    "experience": "12 years with couples",
    "focus": "desire differences, pain, anxiety",
    "location": "Praxis Mitte, 2nd floor",
    "telehealth": True,
    "hours": "Mon-Thu 9-18",
    "session_length_minutes": 50,
    "session_frequency": "weekly at first, then every two weeks",
    "expected_course": "often 10 to 20 sessions",
    "fees": "120 EUR per session",
    "insurance": "private insurers; receipts for reimbursement",
    "payment": "bank transfer after each session",
    "rescheduling_policy": "free up to 24 hours before",
}


def future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def anonymous(app: FastAPI) -> Actor:
    return Actor(new_client(app), "", "", "anonymous", token="")


class TestTherapistProfile:
    def test_a_therapist_fills_in_and_reads_back_the_whole_profile(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        empty = therapist.get("/api/me/therapist-profile")
        assert empty.status_code == 200
        assert set(empty.json()) == set(FULL_PROFILE) and not any(empty.json().values())
        answer = therapist.put("/api/me/therapist-profile", json=FULL_PROFILE)
        assert answer.status_code == 200, answer.text
        assert answer.json() == FULL_PROFILE
        assert therapist.get("/api/me/therapist-profile").json() == FULL_PROFILE

    def test_put_replaces_the_profile_and_fields_left_out_are_cleared(self, app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        therapist.put("/api/me/therapist-profile", json=FULL_PROFILE)
        answer = therapist.put(
            "/api/me/therapist-profile", json={"fees": "  90 EUR  ", "hours": ""}
        )
        assert answer.json()["fees"] == "90 EUR"
        assert answer.json()["hours"] is None and answer.json()["licence"] is None

    def test_a_partner_has_no_therapist_profile(self, app: FastAPI) -> None:
        partner = register(app)
        assert partner.get("/api/me/therapist-profile").status_code == 403
        assert partner.put("/api/me/therapist-profile", json={}).status_code == 403

    @pytest.mark.parametrize(
        "body",
        [
            {"display_name": "x" * 121},
            {"education": "x" * 2001},
            {"session_frequency": "x" * 301},
            {"session_length_minutes": 5},
            {"session_length_minutes": 601},
            {"session_length_minutes": "50"},
            {"telehealth": "yes"},
            {"favourite_colour": "blue"},
        ],
    )
    def test_bad_fields_are_422_and_change_nothing(self, app: FastAPI, body: dict) -> None:
        therapist = register(app, role="therapist")
        therapist.put("/api/me/therapist-profile", json={"fees": "100"})
        answer = therapist.put("/api/me/therapist-profile", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]
        assert therapist.get("/api/me/therapist-profile").json()["fees"] == "100"

    def test_members_see_their_therapists_profile(self, app: FastAPI) -> None:
        world = make_world(app)
        world.therapist.put("/api/me/therapist-profile", json=FULL_PROFILE)
        for member in (world.partner_a, world.partner_b, world.therapist):
            answer = member.get(f"/api/couples/{world.couple_id}/therapist-profile")
            assert answer.status_code == 200
            assert answer.json() == FULL_PROFILE
        outsider = make_world(app).partner_a
        assert outsider.get(f"/api/couples/{world.couple_id}/therapist-profile").status_code == 404

    def test_a_blank_profile_shows_the_therapists_account_name(self, app: FastAPI) -> None:
        world = make_world(app)
        answer = world.partner_a.get(f"/api/couples/{world.couple_id}/therapist-profile")
        assert answer.json()["display_name"] == "Dr Rivera"

    def test_a_couple_without_a_therapist_has_no_profile_to_show(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        answer = partner.get(f"/api/couples/{couple_id}/therapist-profile")
        assert answer.status_code == 404


class TestInvitationPreview:
    def test_a_code_holder_sees_the_therapist_and_the_role_and_nothing_else(
        self, app: FastAPI
    ) -> None:
        therapist = register(app, role="therapist", name="Dr Rivera")
        therapist.put("/api/me/therapist-profile", json=FULL_PROFILE)
        couple_id = create_couple(therapist, label="Secret label")
        first = register(app, invitation_code=invite(therapist, couple_id), name="Alexandra")
        code = invite(first, couple_id)
        for answer in (
            anonymous(app).client.post("/api/invitations/preview", json={"code": code}),
            anonymous(app).client.get("/api/invitations/preview", params={"code": code}),
        ):
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"role": "partner", "therapist": FULL_PROFILE}
            assert "Secret label" not in answer.text and "Alexandra" not in answer.text
        # Previewing does not use the code up.
        assert register(app, invitation_code=code)

    def test_a_couple_without_a_therapist_previews_with_none(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        code = invite(partner, couple_id)
        answer = anonymous(app).client.post("/api/invitations/preview", json={"code": code})
        assert answer.json() == {"role": "partner", "therapist": None}

    def test_a_therapist_invitation_shows_no_profile(self, app: FastAPI) -> None:
        partner = register(app)
        couple_id = create_couple(partner)
        code = invite(partner, couple_id, role="therapist")
        answer = anonymous(app).client.post("/api/invitations/preview", json={"code": code})
        assert answer.json() == {"role": "therapist", "therapist": None}

    def test_used_revoked_expired_and_unknown_codes_look_the_same(
        self, app: FastAPI, engine: Engine
    ) -> None:
        world = make_world(app)
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        used = invite(therapist, couple_id)
        register(app, invitation_code=used)
        revoked = therapist.post(
            f"/api/couples/{couple_id}/invitations", json={"role": "partner"}
        ).json()
        therapist.delete(f"/api/invitations/{revoked['id']}")
        expired = invite(therapist, couple_id)
        with Session(engine) as session:
            session.execute(
                update(Invitation)
                .where(col(Invitation.code_hash) == digest(normalize_code(expired)))
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
            session.commit()
        answers = [
            anonymous(app).client.post("/api/invitations/preview", json={"code": code})
            for code in (used, revoked["code"], expired, "AAAA-BBBB-CCCC-DDDD-EEEE")
        ]
        assert {a.status_code for a in answers} == {404}
        assert len({a.text for a in answers}) == 1
        assert "not valid" in answers[0].json()["detail"]
        assert world  # a busy server: other couples exist

    def test_guessing_codes_is_rate_limited_like_accepting(self, app: FastAPI) -> None:
        guesser = anonymous(app)
        statuses = [
            guesser.client.post("/api/invitations/preview", json={"code": f"WRONG-{n}"}).status_code
            for n in range(10)
        ]
        assert statuses[0] == 404 and statuses[-1] == 429
        # The same address is slowed down on the GET form and for accepting, too.
        assert (
            guesser.client.get("/api/invitations/preview", params={"code": "X"}).status_code == 429
        )

    def test_the_code_is_never_logged(self, app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        guesser = anonymous(app)
        guesser.client.get("/api/invitations/preview", params={"code": "SECRET-CODE-1234"})
        guesser.client.post("/api/invitations/preview", json={"code": "SECRET-CODE-5678"})
        # The test client logs its own requests; the server's loggers must not.
        server = [r for r in caplog.records if not r.name.startswith(("httpx", "asyncio"))]
        assert not any("SECRET-CODE" in r.getMessage() for r in server)

    @pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "x" * 65}, {"code": "A", "x": 1}])
    def test_malformed_bodies_are_422(self, app: FastAPI, body: dict) -> None:
        answer = anonymous(app).client.post("/api/invitations/preview", json=body)
        assert answer.status_code == 422


class TestNextAppointment:
    def test_the_therapist_sets_it_and_both_partners_see_it(self, app: FastAPI) -> None:
        world = make_world(app)
        url = f"/api/couples/{world.couple_id}/next-appointment"
        none = world.partner_a.get(url)
        assert none.status_code == 200 and none.json() is None
        starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        local = starts.astimezone(timezone(timedelta(hours=-5)))
        answer = world.therapist.put(url, json={"starts_at": local.isoformat(), "note": "Room 2"})
        assert answer.status_code == 200, answer.text
        for member in (world.partner_a, world.partner_b, world.therapist):
            seen = member.get(url).json()
            assert datetime.fromisoformat(seen["starts_at"]) == starts
            assert seen["note"] == "Room 2"

    def test_setting_it_again_moves_the_upcoming_one_and_keeps_past_ones(
        self, app: FastAPI, engine: Engine
    ) -> None:
        world = make_world(app)
        url = f"/api/couples/{world.couple_id}/next-appointment"
        first = world.therapist.put(url, json={"starts_at": future(days=2)}).json()
        moved = world.therapist.put(url, json={"starts_at": future(days=3)}).json()
        assert moved["id"] == first["id"]
        # Once it is past, the next one is a new row and the old one stays as history.
        with Session(engine) as session:
            session.execute(
                update(Appointment)
                .where(col(Appointment.id) == uuid.UUID(first["id"]))
                .values(starts_at=utcnow() - timedelta(days=1))
            )
            session.commit()
        none = world.partner_a.get(url)
        assert none.status_code == 200 and none.json() is None
        later = world.therapist.put(url, json={"starts_at": future(days=9)}).json()
        assert later["id"] != first["id"]
        with Session(engine) as session:
            rows = session.exec(
                select(Appointment).where(Appointment.couple_id == uuid.UUID(later["couple_id"]))
            ).all()
        assert len(rows) == 2

    @pytest.mark.parametrize(
        "body",
        [
            {"starts_at": "2030-01-01T10:00:00"},
            {"starts_at": "2020-01-01T10:00:00+01:00"},
            {"starts_at": "2999-01-01T10:00:00+01:00"},
            {"starts_at": "tomorrow"},
            {"starts_at": "2030-01-01T10:00:00Z", "note": "x" * 501},
            {"starts_at": "2030-01-01T10:00:00Z", "where": "here"},
            {},
        ],
    )
    def test_bad_appointments_are_422(self, app: FastAPI, body: dict) -> None:
        world = make_world(app)
        answer = world.therapist.put(f"/api/couples/{world.couple_id}/next-appointment", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]

    def test_a_past_time_says_so(self, app: FastAPI) -> None:
        world = make_world(app)
        answer = world.therapist.put(
            f"/api/couples/{world.couple_id}/next-appointment",
            json={"starts_at": future(minutes=-5)},
        )
        assert answer.json()["detail"] == "The appointment must be in the future"

    def test_partners_cannot_set_it_and_outsiders_learn_nothing(self, app: FastAPI) -> None:
        world = make_world(app)
        other = make_world(app)
        url = f"/api/couples/{world.couple_id}/next-appointment"
        body = {"starts_at": future(days=1)}
        assert world.partner_a.put(url, json=body).status_code == 403
        assert other.therapist.put(url, json=body).status_code == 404
        world.therapist.put(url, json=body)
        assert other.partner_a.get(url).status_code == 404
