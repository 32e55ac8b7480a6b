"""Session preparation: per partner, per appointment, sealed at rest, read only as shared."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tandem.appointments.models import PREP_KEYS, Appointment
from tandem.core.db import utcnow
from tests.factories import World, make_world, register

VISIBILITIES = ("private", "partner", "therapist", "care_team")


def marker(label: str = "") -> str:
    return f"CANARY{label}{uuid.uuid4().hex}"


def book(w: World, **delta: float) -> dict[str, Any]:
    starts = datetime.now(UTC) + timedelta(**(delta or {"days": 2}))
    answer = w.therapist.put(
        f"/api/couples/{w.couple_id}/next-appointment", json={"starts_at": starts.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def prepare(actor: Any, w: World, sections: list[dict[str, Any]]) -> dict[str, Any]:
    answer = actor.put(f"/api/couples/{w.couple_id}/prep", json={"sections": sections})
    assert answer.status_code == 200, answer.text
    return answer.json()


def one_per_visibility(actor: Any, w: World) -> dict[str, str]:
    """Four sections, one per visibility; returns visibility → its marker."""
    marks = {v: marker(v) for v in VISIBILITIES}
    keys = ("concern", "onset", "medications", "questions")
    prepare(
        actor,
        w,
        [
            {"key": k, "text": marks[v], "visibility": v}
            for k, v in zip(keys, VISIBILITIES, strict=True)
        ],
    )
    return marks


def shared(actor: Any, w: World) -> list[dict[str, Any]]:
    answer = actor.get(f"/api/couples/{w.couple_id}/prep/shared")
    assert answer.status_code == 200, answer.text
    return answer.json()


def pass_appointment(engine: Engine, appointment_id: str) -> None:
    with Session(engine) as session:
        session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(appointment_id))
            .values(starts_at=utcnow() - timedelta(hours=2))
        )
        session.commit()


class TestMyPreparation:
    def test_a_partner_prepares_and_reads_every_section_back(self, app: FastAPI) -> None:
        w = make_world(app)
        appointment = book(w)
        blank = w.partner_a.get(f"/api/couples/{w.couple_id}/prep").json()
        assert [s["key"] for s in blank["sections"]] == [k.value for k in PREP_KEYS]
        assert all(s["text"] == "" and s["visibility"] == "therapist" for s in blank["sections"])
        assert blank["appointment_starts_at"] == appointment["starts_at"]
        mine = prepare(
            w.partner_a,
            w,
            [
                {"key": "concern", "text": "We rarely talk about it"},
                {"key": "medications", "text": "Sertraline 50 mg", "visibility": "private"},
            ],
        )
        by_key = {s["key"]: s for s in mine["sections"]}
        assert by_key["concern"] == {
            "key": "concern",
            "text": "We rarely talk about it",
            "visibility": "therapist",
        }
        assert by_key["medications"]["visibility"] == "private"
        again = w.partner_a.get(f"/api/couples/{w.couple_id}/prep").json()
        assert again == mine

    def test_sections_left_out_are_kept_and_empty_text_clears_one(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        prepare(w.partner_a, w, [{"key": "concern", "text": "a"}, {"key": "onset", "text": "b"}])
        mine = prepare(w.partner_a, w, [{"key": "onset", "text": ""}])
        by_key = {s["key"]: s["text"] for s in mine["sections"]}
        assert by_key["concern"] == "a" and by_key["onset"] == ""

    def test_each_partner_has_their_own(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        prepare(w.partner_a, w, [{"key": "concern", "text": "from A", "visibility": "private"}])
        theirs = w.partner_b.get(f"/api/couples/{w.couple_id}/prep").json()
        assert all(s["text"] == "" for s in theirs["sections"])

    def test_without_an_upcoming_appointment_there_is_nothing_to_prepare(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        assert w.partner_a.get(f"/api/couples/{w.couple_id}/prep").status_code == 404
        answer = w.partner_a.put(
            f"/api/couples/{w.couple_id}/prep", json={"sections": [{"key": "concern", "text": "x"}]}
        )
        assert answer.status_code == 409
        assert "no upcoming appointment" in answer.json()["detail"]

    def test_the_therapist_has_no_preparation_of_their_own(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        assert w.therapist.get(f"/api/couples/{w.couple_id}/prep").status_code == 403
        answer = w.therapist.put(f"/api/couples/{w.couple_id}/prep", json={"sections": []})
        assert answer.status_code == 403

    def test_after_the_appointment_it_is_history_and_the_next_one_starts_blank(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        first = book(w)
        mark = marker()
        prepare(w.partner_a, w, [{"key": "questions", "text": mark}])
        pass_appointment(engine, first["id"])
        second = book(w, days=7)
        fresh = w.partner_a.get(f"/api/couples/{w.couple_id}/prep").json()
        assert fresh["appointment_id"] == second["id"]
        assert all(s["text"] == "" for s in fresh["sections"])
        prepare(w.partner_a, w, [{"key": "questions", "text": "new ones"}])
        history = shared(w.therapist, w)
        assert [h["appointment_id"] for h in history] == [second["id"], first["id"]]
        assert history[1]["sections"][0]["text"] == mark

    def test_a_form_left_open_past_its_appointment_is_refused(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        first = book(w)
        pass_appointment(engine, first["id"])
        book(w, days=7)
        answer = w.partner_a.put(
            f"/api/couples/{w.couple_id}/prep",
            json={"appointment_id": first["id"], "sections": [{"key": "concern", "text": "x"}]},
        )
        assert answer.status_code == 409
        assert "no longer the next one" in answer.json()["detail"]

    def test_moving_the_appointment_keeps_the_preparation(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        prepare(w.partner_a, w, [{"key": "concern", "text": "kept"}])
        moved = book(w, days=5)
        mine = w.partner_a.get(f"/api/couples/{w.couple_id}/prep").json()
        assert mine["appointment_starts_at"] == moved["starts_at"]
        assert mine["sections"][0]["text"] == "kept"


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"sections": [{"key": "concern", "text": "x" * 5001}]},
            {"sections": [{"key": "concern", "text": "x", "visibility": "everyone"}]},
            {"sections": [{"key": "horoscope", "text": "x"}]},
            {"sections": [{"key": "concern", "text": "a"}, {"key": "concern", "text": "b"}]},
            {"sections": [{"key": "concern", "text": "x", "colour": "red"}]},
            {"sections": "concern"},
            {"appointment_starts_at": "2030-01-01T00:00:00Z", "sections": []},
            {},
        ],
    )
    def test_bad_preparations_are_422_and_change_nothing(self, app: FastAPI, body: Any) -> None:
        w = make_world(app)
        book(w)
        prepare(w.partner_a, w, [{"key": "concern", "text": "before"}])
        answer = w.partner_a.put(f"/api/couples/{w.couple_id}/prep", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]
        mine = w.partner_a.get(f"/api/couples/{w.couple_id}/prep").json()
        assert mine["sections"][0]["text"] == "before"


class TestWhoSeesWhat:
    def test_each_reader_sees_exactly_the_visibilities_meant_for_them(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        marks = one_per_visibility(w.partner_a, w)

        def seen(actor: Any) -> set[str]:
            return {s["text"] for p in shared(actor, w) for s in p["sections"]}

        assert seen(w.therapist) == {marks["therapist"], marks["care_team"]}
        assert seen(w.partner_b) == {marks["partner"], marks["care_team"]}
        # My own preparation is under /prep, not repeated here.
        assert seen(w.partner_a) == set()
        entry = shared(w.therapist, w)[0]
        assert entry["author_id"] == w.partner_a.id
        assert {s["visibility"] for s in entry["sections"]} == {"therapist", "care_team"}

    def test_outsiders_and_former_members_see_nothing(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        one_per_visibility(w.partner_a, w)
        other = make_world(app)
        for outsider in (other.partner_a, other.therapist, register(app)):
            answer = outsider.get(f"/api/couples/{w.couple_id}/prep/shared")
            assert answer.status_code == 404
        assert w.partner_b.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        assert w.partner_b.get(f"/api/couples/{w.couple_id}/prep/shared").status_code == 404

    def test_a_therapist_who_joins_later_reads_nothing_written_for_their_predecessor(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        book(w)
        marks = one_per_visibility(w.partner_a, w)
        assert w.therapist.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        successor = register(app, role="therapist")
        code = w.partner_a.post(
            f"/api/couples/{w.couple_id}/invitations", json={"role": "therapist"}
        ).json()["code"]
        assert successor.post("/api/invitations/accept", json={"code": code}).status_code == 200
        assert shared(successor, w) == []
        # What is written (or re-shared) now reaches the successor.
        prepare(
            w.partner_a, w, [{"key": "onset", "text": marks["partner"], "visibility": "care_team"}]
        )
        seen = {s["text"] for p in shared(successor, w) for s in p["sections"]}
        assert seen == {marks["partner"]}

    def test_changing_a_visibility_takes_effect_for_readers(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        prepare(w.partner_a, w, [{"key": "concern", "text": "x", "visibility": "therapist"}])
        assert len(shared(w.therapist, w)) == 1
        prepare(w.partner_a, w, [{"key": "concern", "text": "x", "visibility": "private"}])
        assert shared(w.therapist, w) == [] and shared(w.partner_b, w) == []

    def test_therapist_reads_are_in_the_partners_access_log(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        one_per_visibility(w.partner_a, w)
        shared(w.therapist, w)
        log = w.partner_a.get("/api/me/access-log").json()
        reads = [e for e in log if e["action"] == "prep.read_by_therapist"]
        assert len(reads) == 1 and reads[0]["actor_id"] == w.therapist.id
        # The other partner's reads are not the therapist's and are not logged as such.
        shared(w.partner_b, w)
        log = w.partner_a.get("/api/me/access-log").json()
        assert len([e for e in log if e["action"] == "prep.read_by_therapist"]) == 1


class TestAtRest:
    def test_texts_are_sealed_in_the_database(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        book(w)
        marks = one_per_visibility(w.partner_a, w)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT sealed_text FROM prep_section")).all()
        blob = b"".join(bytes(r[0]) for r in rows)
        for mark in marks.values():
            assert mark.encode() not in blob

    def test_a_ciphertext_moved_to_another_row_does_not_open(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        book(w)
        prepare(
            w.partner_a,
            w,
            [
                {"key": "concern", "text": "one", "visibility": "therapist"},
                {"key": "onset", "text": "two", "visibility": "therapist"},
            ],
        )
        author = (
            w.partner_a.id.replace("-", "") if engine.dialect.name == "sqlite" else w.partner_a.id
        )
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT id, sealed_text FROM prep_section WHERE author_id = :a ORDER BY key"),
                {"a": author},
            ).all()
            connection.execute(
                text("UPDATE prep_section SET sealed_text = :s WHERE id = :i"),
                {"s": rows[0][1], "i": rows[1][0]},
            )
        answer = w.therapist.get(f"/api/couples/{w.couple_id}/prep/shared")
        assert answer.status_code == 500
        assert "one" not in answer.text


class TestExportAndDeletion:
    def test_export_has_my_preparation_opened_and_nobody_elses(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        mine = one_per_visibility(w.partner_a, w)
        theirs = one_per_visibility(w.partner_b, w)
        exported = w.partner_a.get("/api/me/export")
        assert exported.status_code == 200
        for mark in mine.values():
            assert mark in exported.text
        for mark in theirs.values():
            assert mark not in exported.text
        (preparation,) = exported.json()["preparations"]
        assert preparation["couple_id"] == w.couple_id and len(preparation["sections"]) == 4

    def test_deleting_the_account_removes_the_preparation(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        book(w)
        one_per_visibility(w.partner_a, w)
        theirs = one_per_visibility(w.partner_b, w)
        author = (
            w.partner_a.id.replace("-", "") if engine.dialect.name == "sqlite" else w.partner_a.id
        )
        assert w.partner_a.delete_account().status_code == 204
        with engine.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM prep_section WHERE author_id = :a"), {"a": author}
            ).scalar_one()
        assert left == 0
        assert {s["text"] for p in shared(w.therapist, w) for s in p["sections"]} == {
            theirs["therapist"],
            theirs["care_team"],
        }

    def test_a_therapists_profile_is_exported_and_deleted_with_the_account(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        w.therapist.put("/api/me/therapist-profile", json={"fees": "100 EUR"})
        assert w.therapist.get("/api/me/export").json()["therapist_profile"]["fees"] == "100 EUR"
        assert w.therapist.delete_account().status_code == 204
        # The couple has no therapist any more, and no profile lingers.
        answer = w.partner_a.get(f"/api/couples/{w.couple_id}/therapist-profile")
        assert answer.status_code == 404
