"""Measurement-based care through the API: catalogue, custom measures, assigning, due items,
answering, results, sharing, risk flags, reminders, goals, export and deletion."""

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tandem.core.db import utcnow, write_session
from tandem.measures import reminders as measure_reminders
from tandem.reminders import hooks, scheduler
from tests.factories import make_world, register
from tests.measures_support import (
    PHQ9_CALM,
    PHQ9_RISK,
    answer,
    assign,
    due,
    notifications,
    soon,
)

CUSTOM = {
    "title": "Closeness check",
    "instructions": "Over the last week:",
    "recall_days": 7,
    "items": [
        {
            "text": "I felt close to my partner",
            "options": [{"value": 0, "label": "Never"}, {"value": 1, "label": "Sometimes"},
                        {"value": 2, "label": "Often"}],
        },
        {
            "text": "I felt unsafe at home",
            "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}],
            "risk_at": 1,
        },
    ],
    "bands": [{"min": 0, "max": 1, "label": "Low"}, {"min": 2, "max": 3, "label": "High"}],
}  # fmt: skip


class TestCatalogue:
    def test_everyone_signed_in_sees_the_built_ins_with_attribution(self, app: FastAPI) -> None:
        measures = register(app).get("/api/measures").json()
        assert [m["key"] for m in measures] == ["phq4", "phq9", "gad7", "csi4", "csi16"]
        phq9 = measures[1]
        assert phq9["recall_days"] == 14 and "Pfizer" in phq9["attribution"]
        assert phq9["items"][8]["risk"] is True
        assert phq9["scoring"]["reliable_change"] == 6

    def test_a_custom_measure_is_seen_by_its_therapist_and_their_couples_only(
        self, app: FastAPI
    ) -> None:
        w, other = make_world(app), make_world(app)
        made = w.therapist.post("/api/measures", json=CUSTOM)
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert made.json()["items"][1]["risk"] is True
        for actor in (w.therapist, w.partner_a, w.partner_b):
            assert key in [m["key"] for m in actor.get("/api/measures").json()]
        for actor in (other.therapist, other.partner_a, register(app)):
            assert key not in [m["key"] for m in actor.get("/api/measures").json()]
        # Another therapist cannot assign it either.
        answer_ = other.therapist.post(
            f"/api/couples/{other.couple_id}/measure-assignments",
            json={"measure_key": key, "respondent_ids": [other.partner_a.id], "cadence": "once"},
        )
        assert answer_.status_code == 422

    def test_a_partner_cannot_make_one_and_bad_definitions_are_refused(self, app: FastAPI) -> None:
        w = make_world(app)
        assert w.partner_a.post("/api/measures", json=CUSTOM).status_code == 403
        overlapping = {**CUSTOM, "bands": [{"min": 0, "max": 2, "label": "A"},
                                           {"min": 2, "max": 3, "label": "B"}]}  # fmt: skip
        assert w.therapist.post("/api/measures", json=overlapping).status_code == 422
        bad_risk = {**CUSTOM, "items": [{**CUSTOM["items"][1], "risk_at": 7}]}
        assert w.therapist.post("/api/measures", json=bad_risk).status_code == 422


class TestAssigning:
    def test_recall_windows_are_respected_unless_the_therapist_says_so(self, app: FastAPI) -> None:
        w = make_world(app)
        base = f"/api/couples/{w.couple_id}/measure-assignments"
        body = {"measure_key": "phq9", "respondent_ids": [w.partner_a.id], "cadence": "weekly"}
        refused = w.therapist.post(base, json=body)
        assert refused.status_code == 422
        assert "last 14 days" in refused.json()["detail"]
        made = w.therapist.post(base, json=body | {"allow_short_interval": True})
        assert made.status_code == 201
        again = w.therapist.post(base, json=body | {"cadence": "biweekly"})
        assert again.status_code == 409
        assert (
            w.therapist.delete(f"/api/measure-assignments/{made.json()['id']}").status_code == 204
        )
        assert w.therapist.post(base, json=body | {"cadence": "biweekly"}).status_code == 201
        listed = w.therapist.get(base).json()
        assert [a["cadence"] for a in listed] == ["biweekly"]

    def test_only_this_couples_partners_answer(self, app: FastAPI) -> None:
        w, other = make_world(app), make_world(app)
        base = f"/api/couples/{w.couple_id}/measure-assignments"
        for ids in ([other.partner_a.id], [w.therapist.id], [w.partner_a.id, w.partner_a.id]):
            body = {"measure_key": "gad7", "respondent_ids": ids, "cadence": "once"}
            assert w.therapist.post(base, json=body).status_code == 422
        body = {"measure_key": "nope", "respondent_ids": [w.partner_a.id], "cadence": "once"}
        assert w.therapist.post(base, json=body).status_code == 422


class TestAnswering:
    def test_due_answer_score_and_a_second_answer_conflicts(self, app: FastAPI) -> None:
        w = make_world(app)
        made = assign(w, "phq4")
        items = due(w.partner_a)
        assert [d["measure"]["key"] for d in items] == ["phq4"]
        assert due(w.partner_b) == []  # nothing about the other partner, not even a count
        done = answer(w.partner_a, made["id"], {"1": 2, "2": 1, "3": 1, "4": 1})
        assert done.status_code == 201, done.text
        body = done.json()
        assert (body["total"], body["band"]["label"], body["risk"]) == (5, "Mild", False)
        assert body["subscales"]["anxiety"]["positive"] is True
        assert body["crisis_resources"] == []
        assert due(w.partner_a) == []
        again = answer(w.partner_a, made["id"], {"1": 0, "2": 0, "3": 0, "4": 0})
        assert again.status_code == 409
        assert (
            again.json()["detail"] == "You have already answered this questionnaire for this time."
        )

    def test_missing_and_out_of_range_answers_are_422_with_plain_sentences(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        made = assign(w, "gad7")
        bad = answer(w.partner_a, made["id"], {"1": 3, "2": 7})
        assert bad.status_code == 422
        problems = {p["loc"][-1]: p["msg"] for p in bad.json()["detail"]}
        assert problems["2"] == "The answer to question 2 is not one of its choices."
        assert problems["3"] == "Question 3 needs an answer."
        assert "difficulty" not in problems
        # Nothing was stored: it is still due.
        assert len(due(w.partner_a)) == 1

    def test_the_other_partner_and_the_therapist_cannot_answer_for_someone(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        made = assign(w, "phq4")
        sheet = {"1": 0, "2": 0, "3": 0, "4": 0}
        assert answer(w.partner_b, made["id"], sheet).status_code == 404
        assert answer(w.therapist, made["id"], sheet).status_code == 403

    def test_before_appointment_is_due_the_day_before_only(self, app: FastAPI) -> None:
        w = make_world(app)
        appointment = f"/api/couples/{w.couple_id}/next-appointment"
        assert w.therapist.put(appointment, json={"starts_at": soon(24 * 5)}).status_code == 200
        made = assign(w, "csi4", cadence="before_appointment")
        assert due(w.partner_a) == []
        assert w.therapist.put(appointment, json={"starts_at": soon(2)}).status_code == 200
        [item] = due(w.partner_a)
        assert item["assignment_id"] == made["id"] and item["due_until"]
        sheet = {"1": 3, "2": 3, "3": 3, "4": 3}
        assert answer(w.partner_a, made["id"], sheet).status_code == 201
        assert due(w.partner_a) == []


class TestRisk:
    def test_a_risk_answer_shows_crisis_resources_and_flags_for_the_therapist_only(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        made = assign(w, "phq9")
        done = answer(w.partner_a, made["id"], PHQ9_RISK)
        assert done.status_code == 201
        body = done.json()
        assert body["risk"] is True
        assert any("local emergency number" in line for line in body["crisis_resources"])
        flags_path = f"/api/couples/{w.couple_id}/risk-flags"
        [flag] = w.therapist.get(flags_path).json()
        assert flag["respondent_id"] == w.partner_a.id and flag["response_id"] == body["id"]
        assert w.partner_a.get(flags_path).status_code == 403
        assert w.partner_b.get(flags_path).status_code == 403
        own = w.partner_a.get(f"/api/couples/{w.couple_id}/measure-results").json()
        assert "risk" not in own[0] and "answers" not in own[0]
        assert w.therapist.get("/api/me/risk-flags").json() == [
            {"couple_id": w.couple_id, "open": 1}
        ]
        assert w.partner_a.post(f"/api/risk-flags/{flag['id']}/clear").status_code == 403
        assert w.therapist.post(f"/api/risk-flags/{flag['id']}/clear").status_code == 204
        assert w.therapist.post(f"/api/risk-flags/{flag['id']}/clear").status_code == 409
        assert w.therapist.get(flags_path).json() == []
        assert w.therapist.get("/api/me/risk-flags").json() == []

    def test_a_custom_risk_item_flags_too(self, app: FastAPI) -> None:
        w = make_world(app)
        key = w.therapist.post("/api/measures", json=CUSTOM).json()["key"]
        made = assign(w, key, w.partner_b)
        done = answer(w.partner_b, made["id"], {"1": 2, "2": 1})
        assert done.json()["risk"] is True and done.json()["band"]["label"] == "High"
        assert len(w.therapist.get(f"/api/couples/{w.couple_id}/risk-flags").json()) == 1

    def test_the_crisis_list_is_the_operators(self, app: FastAPI) -> None:
        settings = app.state.settings
        original = settings.crisis_resources
        settings.crisis_resources = "Call 555 0100 | Walk-in clinic, 4 Main St"
        try:
            w = make_world(app)
            made = assign(w, "phq9")
            body = answer(w.partner_a, made["id"], PHQ9_RISK).json()
            assert body["crisis_resources"] == ["Call 555 0100", "Walk-in clinic, 4 Main St"]
        finally:
            settings.crisis_resources = original


class TestResults:
    def test_who_reads_what(self, app: FastAPI) -> None:
        w = make_world(app)
        made = assign(w, "phq9", w.partner_a, w.partner_b)
        a_id = answer(w.partner_a, made["id"], PHQ9_CALM).json()["id"]
        answer(w.partner_b, made["id"], {**PHQ9_CALM, "1": 3})
        base = f"/api/couples/{w.couple_id}/measure-results"
        everyone = w.therapist.get(base).json()
        assert {r["respondent_id"] for r in everyone} == {w.partner_a.id, w.partner_b.id}
        mine = [r for r in everyone if r["id"] == a_id][0]
        assert mine["answers"][8] == {
            "item_key": "9",
            "text": "Thoughts that you would be better off dead or of hurting yourself in some way",
            "value": 0,
            "label": "Not at all",
        }
        own = w.partner_a.get(base).json()
        assert [r["id"] for r in own] == [a_id]
        assert own[0]["band"]["plain"] == "Few or no signs of depression"
        assert w.partner_a.get(base, params={"respondent_id": w.partner_b.id}).status_code == 404
        only_b = w.therapist.get(base, params={"respondent_id": w.partner_b.id}).json()
        assert [r["respondent_id"] for r in only_b] == [w.partner_b.id]
        # The therapist's read is in the partner's access log.
        log = w.partner_a.get("/api/me/access-log").json()
        assert any(e["action"] == "measures.read_by_therapist" for e in log)

    def test_sharing_one_result_shows_its_score_but_never_its_answers(self, app: FastAPI) -> None:
        w = make_world(app)
        made = assign(w, "gad7")
        rid = answer(w.partner_a, made["id"], {str(k): 1 for k in range(1, 8)}).json()["id"]
        shared_path = f"/api/couples/{w.couple_id}/measure-results/shared"
        assert w.partner_b.get(shared_path).json() == []
        assert w.partner_b.post(f"/api/measure-responses/{rid}/share").status_code == 404
        shared = w.partner_a.post(f"/api/measure-responses/{rid}/share")
        assert shared.status_code == 200 and shared.json()["shared"] is True
        [seen] = w.partner_b.get(shared_path).json()
        assert (seen["total"], seen["band"]["label"]) == (7, "Mild")
        assert "answers" not in seen and "risk" not in seen
        assert w.partner_a.delete(f"/api/measure-responses/{rid}/share").status_code == 200
        assert w.partner_b.get(shared_path).json() == []

    def test_reliable_change_from_the_first_score(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        made = assign(w, "phq9", cadence="biweekly")
        answer(w.partner_a, made["id"], {**PHQ9_CALM, "1": 3, "2": 3, "3": 3, "4": 3})
        # The next window: pretend the first answer was given a fortnight ago.
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE measure_response SET occurrence_key = 'earlier'")
        answer(w.partner_a, made["id"], {**PHQ9_CALM, "1": 1, "2": 1})
        results = w.partner_a.get(f"/api/couples/{w.couple_id}/measure-results").json()
        assert [r["total"] for r in results] == [12, 2]
        assert [r["reliable_change"] for r in results] == [None, "improved"]


class TestReminders:
    def test_only_the_respondent_gets_a_discreet_reminder_cancelled_by_answering(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        made = assign(w, "csi4")
        [row] = [n for n in notifications(engine, w.partner_a.id) if n.kind == "measure_due"]
        assert set(row.payload) == {"assignment_id", "url"} and row.payload["url"] == "/"
        assert not [n for n in notifications(engine, w.partner_b.id) if n.kind == "measure_due"]
        answer(w.partner_a, made["id"], {"1": 3, "2": 3, "3": 3, "4": 3})
        assert not [n for n in notifications(engine, w.partner_a.id) if n.kind == "measure_due"]

    def test_the_scheduler_plans_each_new_week(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        assign(w, "csi4", cadence="weekly")
        assert measure_reminders.plan in hooks.planners()
        later = utcnow() + timedelta(days=8)
        with write_session(engine) as session:
            scheduler.schedule(session, now=later)
            session.commit()
        keys = sorted(
            n.dedupe_key for n in notifications(engine, w.partner_a.id) if n.kind == "measure_due"
        )
        assert len(keys) == 2 and keys[0] != keys[1]

    def test_an_ended_assignment_stops_reminding(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        made = assign(w, "csi4", cadence="weekly")
        assert w.therapist.delete(f"/api/measure-assignments/{made['id']}").status_code == 204
        assert not [n for n in notifications(engine, w.partner_a.id) if n.kind == "measure_due"]
        assert due(w.partner_a) == []
        # Planning a week later (for every couple in this shared database) still reminds
        # neither partner of the ended assignment.
        with Session(engine) as session:
            measure_reminders.plan(session, utcnow() + timedelta(days=8))
            session.commit()
        for partner in (w.partner_a, w.partner_b):
            assert not [n for n in notifications(engine, partner.id) if n.kind == "measure_due"]


class TestGoals:
    LEVELS = {"-2": "Much worse", "-1": "Worse", "0": "Expected", "1": "Better", "2": "Best"}

    def test_owners_visibility_ratings_and_t_score(self, app: FastAPI) -> None:
        w = make_world(app)
        base = f"/api/couples/{w.couple_id}/goals"
        own = w.therapist.post(
            base, json={"title": "Say no kindly", "levels": self.LEVELS, "owner_id": w.partner_a.id}
        )
        assert own.status_code == 201
        ours = w.therapist.post(base, json={"title": "Weekly date", "levels": self.LEVELS})
        own_id, ours_id = own.json()["id"], ours.json()["id"]
        assert [g["id"] for g in w.partner_b.get(base).json()] == [ours_id]
        assert {g["id"] for g in w.partner_a.get(base).json()} == {own_id, ours_id}
        assert (
            w.partner_b.post(f"/api/goals/{own_id}/ratings", json={"level": 1}).status_code == 404
        )
        assert (
            w.partner_a.post(f"/api/goals/{own_id}/ratings", json={"level": 2}).status_code == 201
        )
        assert (
            w.partner_b.post(f"/api/goals/{ours_id}/ratings", json={"level": -1}).status_code == 201
        )
        assert (
            w.therapist.post(f"/api/goals/{ours_id}/ratings", json={"level": 3}).status_code == 422
        )
        t = w.therapist.get(f"/api/couples/{w.couple_id}/goal-attainment").json()
        # Levels 2 and −1, weights 1: 50 + 10·1 / √(0.7·2 + 0.3·4) = 50 + 10 / √2.6
        assert t["rated"] == 2 and abs(t["t_score"] - 56.2017) < 1e-3
        b_view = w.partner_b.get(f"/api/couples/{w.couple_id}/goal-attainment").json()
        assert b_view["rated"] == 1 and abs(b_view["t_score"] - 40.0) < 1e-9

    def test_a_goal_needs_five_levels_and_an_owner_from_the_couple(self, app: FastAPI) -> None:
        w = make_world(app)
        base = f"/api/couples/{w.couple_id}/goals"
        four = {k: v for k, v in self.LEVELS.items() if k != "2"}
        assert w.therapist.post(base, json={"title": "X", "levels": four}).status_code == 422
        body = {"title": "X", "levels": self.LEVELS, "owner_id": w.therapist.id}
        assert w.therapist.post(base, json=body).status_code == 422
        assert w.partner_a.post(base, json={"title": "X", "levels": self.LEVELS}).status_code == 403


class TestExportAndDeletion:
    def test_answers_are_exported_and_deleted_with_the_account(self, app: FastAPI) -> None:
        w = make_world(app)
        made = assign(w, "phq9")
        answer(w.partner_a, made["id"], PHQ9_RISK)
        exported = w.partner_a.get("/api/me/export").json()
        [response] = exported["questionnaire_responses"]
        assert response["answers"]["9"] == 1 and response["total"] == 5
        deleted = w.partner_a.delete("/api/me", json={"password": w.partner_a.password})
        assert deleted.status_code == 204, deleted.text
        assert w.therapist.get(f"/api/couples/{w.couple_id}/measure-results").json() == []
        assert w.therapist.get(f"/api/couples/{w.couple_id}/risk-flags").json() == []
