"""The couples overview: one request, bounded queries, flags from what the therapist may read."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tandem.core.config import Settings
from tandem.plans.models import PracticeLog
from tests.factories import Actor, World, login, make_world, new_client
from tests.journal_helpers import marker
from tests.measures_support import PHQ9_RISK, answer, assign
from tests.plans_support import INDIVIDUAL, JOINT, item, log, published_week, this_monday
from tests.workspace_seed import seed_practice

OVERVIEW = "/api/therapist/overview"


def overview(world: World, **query: Any) -> dict[str, Any]:
    answer = world.therapist.get(OVERVIEW, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def row_of(answer: dict[str, Any], couple_id: str) -> dict[str, Any]:
    return next(r for r in answer["couples"] if r["id"] == couple_id)


def book(world: World, days: float = 3) -> dict[str, Any]:
    starts = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    answer = world.therapist.put(
        f"/api/couples/{world.couple_id}/next-appointment", json={"starts_at": starts}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def age_log(engine: Engine, log_id: str, days: float) -> None:
    then = datetime.now(UTC) - timedelta(days=days)
    with Session(engine) as session:
        session.execute(
            update(PracticeLog)
            .where(col(PracticeLog.id) == uuid.UUID(log_id))
            .values(created_at=then, updated_at=then)
        )
        session.commit()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


class TestTheOverview:
    def test_a_couple_row_holds_names_week_appointment_and_activity(self, app: FastAPI) -> None:
        w = make_world(app)
        plan = published_week(w, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
        joint, solo = plan["items"][0]["id"], plan["items"][1]["id"]
        assert log(w.partner_a, joint).status_code == 201
        assert log(w.partner_b, joint).status_code == 200  # confirms it
        assert log(w.partner_b, solo).status_code == 201
        appointment = book(w)
        row = row_of(overview(w), w.couple_id)
        assert row["label"] == "The Couple"
        assert [p["display_name"] for p in row["partners"]] == ["Alex", "Sam"]
        assert row["next_appointment"]["id"] == appointment["id"]
        week = row["this_week"]
        assert week["week_start"] == this_monday().isoformat()
        assert week["total"] == {"done": 2, "target": 7}
        assert week["joint"] == {"done": 1, "target": 3}
        mine = {p["user_id"]: (p["done"], p["target"]) for p in week["partners"]}
        assert mine == {w.partner_a.id: (0, 2), w.partner_b.id: (1, 2)}
        assert row["last_activity_at"] is not None
        assert row["attention"] == 0
        # The SPEC's couple list agrees on this week.
        listed = w.therapist.get("/api/couples").json()
        assert listed[0]["this_week"] == {"done": 2, "target": 7}

    def test_no_plan_no_appointment_no_activity(self, app: FastAPI) -> None:
        w = make_world(app)
        row = row_of(overview(w), w.couple_id)
        assert row["this_week"] is None
        assert row["next_appointment"] is None
        assert row["last_activity_at"] is None
        assert row["flags"]["quiet_days"] is None  # joined a moment ago

    def test_only_my_couples_are_listed(self, app: FastAPI) -> None:
        w, other = make_world(app), make_world(app)
        ids = [r["id"] for r in overview(w)["couples"]]
        assert ids == [w.couple_id]
        assert other.couple_id not in ids


class TestFlags:
    def test_a_log_waiting_more_than_two_days(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        joint = published_week(w, items=[item(JOINT, "joint", 3)])["items"][0]["id"]
        fresh = log(w.partner_a, joint).json()
        assert row_of(overview(w), w.couple_id)["flags"]["waiting"] == 0
        age_log(engine, fresh["id"], days=2.5)
        row = row_of(overview(w), w.couple_id)
        assert row["flags"]["waiting"] == 1
        assert row["attention"] == 1

    def test_disputes_are_counted(self, app: FastAPI) -> None:
        w = make_world(app)
        joint = published_week(w, items=[item(JOINT, "joint", 3)])["items"][0]["id"]
        for _ in range(2):
            logged = log(w.partner_a, joint).json()
            assert w.partner_b.post(f"/api/sessions/{logged['id']}/dispute").status_code == 200
        assert row_of(overview(w), w.couple_id)["flags"]["disputes"] == 2

    def test_quiet_for_the_therapists_number_of_days(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        solo = published_week(w, items=[item(INDIVIDUAL, "individual", 2)])["items"][0]["id"]
        age_log(engine, log(w.partner_a, solo).json()["id"], days=3.2)
        assert row_of(overview(w), w.couple_id)["flags"]["quiet_days"] is None  # N = 5
        row = row_of(overview(w, inactive_days=3), w.couple_id)
        assert row["flags"]["quiet_days"] == 3
        saved = w.therapist.put("/api/me/workspace-settings", json={"inactive_days": 2})
        assert saved.status_code == 200, saved.text
        assert row_of(overview(w), w.couple_id)["flags"]["quiet_days"] == 3

    def test_a_partner_who_left(self, app: FastAPI) -> None:
        w = make_world(app)
        assert w.partner_b.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        row = row_of(overview(w), w.couple_id)
        assert [p["display_name"] for p in row["flags"]["partner_left"]] == ["Sam"]
        assert [p["display_name"] for p in row["partners"]] == ["Alex"]

    def test_a_shared_rating_beyond_the_threshold_is_flagged_and_logged(self, app: FastAPI) -> None:
        w = make_world(app)
        body = {"ratings": {"anxiety": 9, "closeness": 2}, "visibility": "therapist"}
        assert (
            w.partner_a.post(f"/api/couples/{w.couple_id}/checkins", json=body).status_code == 201
        )
        flags = row_of(overview(w), w.couple_id)["flags"]
        assert [(f["user_id"], f["key"], f["value"]) for f in flags["ratings"]] == [
            (w.partner_a.id, "anxiety", 9)
        ]
        assert (
            row_of(overview(w, rating_at_least=10, rating="anxiety"), w.couple_id)["flags"][
                "ratings"
            ]
            == []
        )
        low = row_of(overview(w, rating="closeness", rating_at_most=2), w.couple_id)
        assert [f["key"] for f in low["flags"]["ratings"]] == ["closeness"]
        assert row_of(overview(w, rating="none"), w.couple_id)["flags"]["ratings"] == []
        log = w.partner_a.get("/api/me/access-log").json()
        assert any(e["action"] == "journal.read_by_therapist" for e in log)

    def test_preparation_shared_for_the_next_appointment(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        sections = [{"key": "concern", "text": "Talking is hard", "visibility": "therapist"}]
        put = w.partner_b.put(f"/api/couples/{w.couple_id}/prep", json={"sections": sections})
        assert put.status_code == 200, put.text
        assert row_of(overview(w), w.couple_id)["flags"]["prepared"] == [w.partner_b.id]

    def test_questionnaire_answers_to_review(self, app: FastAPI) -> None:
        w = make_world(app)
        made = assign(w, "phq9")
        assert answer(w.partner_a, made["id"], PHQ9_RISK).status_code == 201
        row = row_of(overview(w), w.couple_id)
        assert row["flags"]["risk"] == 1
        assert row["attention"] == 1


class TestNothingPrivateReachesIt:
    def test_private_and_partner_only_entries_change_nothing(self, app: FastAPI) -> None:
        w = make_world(app)
        solo = published_week(w, items=[item(INDIVIDUAL, "individual", 2)])["items"][0]["id"]
        log(w.partner_a, solo)
        book(w)
        before = overview(w)
        for partner in (w.partner_a, w.partner_b):
            for visibility in ("private", "partner"):
                note = {"body": marker("note"), "visibility": visibility}
                checkin = {
                    "ratings": {"anxiety": 10, "closeness": 0},
                    "text": marker("checkin"),
                    "visibility": visibility,
                }
                base = f"/api/couples/{w.couple_id}"
                assert partner.post(f"{base}/notes", json=note).status_code == 201
                assert partner.post(f"{base}/checkins", json=checkin).status_code == 201
            sections = [
                {"key": "concern", "text": marker("prep"), "visibility": "private"},
                {"key": "onset", "text": marker("prep"), "visibility": "partner"},
            ]
            assert (
                partner.put(
                    f"/api/couples/{w.couple_id}/prep", json={"sections": sections}
                ).status_code
                == 200
            )
        after = overview(w)
        before.pop("generated_at"), after.pop("generated_at")
        assert after == before
        assert after["couples"][0]["flags"]["prepared"] == []
        assert after["couples"][0]["flags"]["ratings"] == []

    def test_saving_the_whole_preparation_form_moves_nothing(self, app: FastAPI) -> None:
        """The form sends every section: changing only a private one must not make the
        shared ones look freshly written (last activity, the timeline)."""
        w = make_world(app)
        book(w)
        shared = {"key": "concern", "text": "Shared", "visibility": "therapist"}
        base = f"/api/couples/{w.couple_id}/prep"
        assert w.partner_a.put(base, json={"sections": [shared]}).status_code == 200
        before = overview(w)
        history = w.therapist.get(f"/api/couples/{w.couple_id}/timeline").json()
        secret = {"key": "medications", "text": marker("prep"), "visibility": "private"}
        assert w.partner_a.put(base, json={"sections": [shared, secret]}).status_code == 200
        after = overview(w)
        before.pop("generated_at"), after.pop("generated_at")
        assert after == before
        assert w.therapist.get(f"/api/couples/{w.couple_id}/timeline").json() == history


class TestSettings:
    def test_defaults_save_and_bad_values(self, app: FastAPI) -> None:
        w = make_world(app)
        mine = w.therapist.get("/api/me/workspace-settings").json()
        assert mine == {
            "inactive_days": 5,
            "rating": {"key": "anxiety", "direction": "at_least", "threshold": 8},
        }
        rule = {"key": "comfort", "direction": "at_most", "threshold": 3}
        saved = w.therapist.put(
            "/api/me/workspace-settings", json={"inactive_days": 7, "rating": rule}
        )
        assert saved.json() == {"inactive_days": 7, "rating": rule}
        assert overview(w)["settings"] == saved.json()
        off = w.therapist.put("/api/me/workspace-settings", json={"inactive_days": 7})
        assert off.json()["rating"] is None
        for bad in ({"inactive_days": 0}, {"inactive_days": "5"}, {"rating": {"key": "joy"}}):
            assert w.therapist.put("/api/me/workspace-settings", json=bad).status_code == 422
        for query in (
            {"rating_at_least": 8},
            {"rating": "anxiety"},
            {"rating": "anxiety", "rating_at_least": 8, "rating_at_most": 2},
            {"rating": "anxiety", "rating_at_least": 11},
            {"rating": "none", "rating_at_least": 3},
            {"rating": "joy", "rating_at_least": 3},
            {"inactive_days": 0},
        ):
            answer = w.therapist.get(OVERVIEW, params=query)
            assert answer.status_code == 422, query
            assert isinstance(answer.json()["detail"], str | list)


@pytest.fixture(scope="module")
def practices(app: FastAPI, settings: Settings) -> dict[int, Any]:
    return {n: seed_practice(app.state.engine, settings, couples=n) for n in (5, 200)}


def signed_in(app: FastAPI, email: str) -> Actor:
    actor = Actor(new_client(app), "", email, "therapist", "")
    login(actor)
    return actor


class TestScale:
    def test_the_overview_costs_the_same_queries_for_5_and_200_couples(
        self, app: FastAPI, practices: dict[int, Any]
    ) -> None:
        counts = {}
        for n, practice in practices.items():
            therapist = signed_in(app, practice.therapist_email)
            therapist.get(OVERVIEW)  # warm: the library check, the keys
            with statements(app.state.engine) as seen:
                answer = therapist.get(OVERVIEW)
            assert answer.status_code == 200
            rows = answer.json()["couples"]
            assert len(rows) == n
            counts[n] = len(seen)
            flags = [r["flags"] for r in rows]
            if n == 200:
                assert sum(f["waiting"] for f in flags) > 0
                assert sum(f["disputes"] for f in flags) > 0
                assert any(f["partner_left"] for f in flags)
                assert any(f["ratings"] for f in flags)
                assert any(f["prepared"] for f in flags)
                assert any(f["quiet_days"] for f in flags)
        print("overview statements", counts)
        assert counts[5] == counts[200], counts
        assert counts[200] <= 25, counts

    def test_the_couple_list_is_bounded_too(self, app: FastAPI, practices: dict[int, Any]) -> None:
        counts = {}
        for n, practice in practices.items():
            therapist = signed_in(app, practice.therapist_email)
            with statements(app.state.engine) as seen:
                answer = therapist.get("/api/couples")
            assert len(answer.json()) == n
            counts[n] = len(seen)
        print("couple list statements", counts)
        assert counts[5] == counts[200], counts
