"""A couple's timeline and session brief for their therapist, and a partner's own week."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tandem.couples.models import Couple
from tests.factories import World, make_world
from tests.journal_helpers import marker, write
from tests.plans_support import INDIVIDUAL, JOINT, item, log, published_week, this_monday


def get(actor: Any, path: str, **query: Any) -> dict[str, Any]:
    answer = actor.get(path, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def timeline(w: World, **query: Any) -> dict[str, Any]:
    return get(w.therapist, f"/api/couples/{w.couple_id}/timeline", **query)


def brief(w: World, **query: Any) -> dict[str, Any]:
    return get(w.therapist, f"/api/couples/{w.couple_id}/brief", **query)


def reads(partner: Any) -> list[str]:
    """What the partner's access log says was read of theirs."""
    log = partner.get("/api/me/access-log").json()
    return [e["action"] for e in log if e["action"].endswith("read_by_therapist")]


def born(engine: Engine, w: World, days_ago: int) -> None:
    """The couple was created `days_ago` days ago."""
    with Session(engine) as session:
        session.execute(
            update(Couple)
            .where(col(Couple.id) == uuid.UUID(w.couple_id))
            .values(created_at=datetime.now(UTC) - timedelta(days=days_ago))
        )
        session.commit()


def book(w: World, days: float = 2) -> None:
    starts = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    answer = w.therapist.put(
        f"/api/couples/{w.couple_id}/next-appointment", json={"starts_at": starts, "note": "Room 2"}
    )
    assert answer.status_code == 200, answer.text


def a_lived_week(w: World) -> dict[str, Any]:
    """This week's plan, a joint session confirmed and one disputed, an individual one,
    a note and a check-in shared with the therapist (returned: their markers)."""
    plan = published_week(w, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    joint, solo = plan["items"][0]["id"], plan["items"][1]["id"]
    assert log(w.partner_a, joint).status_code == 201
    assert log(w.partner_b, joint).status_code == 200
    disputed = log(w.partner_a, joint).json()
    assert w.partner_b.post(f"/api/sessions/{disputed['id']}/dispute").status_code == 200
    assert log(w.partner_b, solo).status_code == 201
    note = write(w.partner_a, w.couple_id, "note", "care_team")
    checkin = write(w.partner_b, w.couple_id, "checkin", "therapist")
    return {"note": note["marker"], "checkin": checkin["marker"], "plan": plan}


def private_canaries(w: World) -> list[str]:
    """Everything either partner keeps from the therapist: private and partner-only notes
    and check-ins, private and partner-only preparation."""
    canaries = []
    for partner in (w.partner_a, w.partner_b):
        for visibility in ("private", "partner"):
            for kind in ("note", "checkin"):
                canaries.append(write(partner, w.couple_id, kind, visibility)["marker"])
        sections = []
        for key, visibility in (("concern", "private"), ("medications", "partner")):
            mark = marker("prep")
            canaries.append(mark)
            sections.append({"key": key, "text": mark, "visibility": visibility})
        answer = partner.put(f"/api/couples/{w.couple_id}/prep", json={"sections": sections})
        assert answer.status_code == 200, answer.text
    return canaries


class TestTimeline:
    def test_adherence_events_and_ratings_of_this_week(self, app: FastAPI) -> None:
        w = make_world(app)
        lived = a_lived_week(w)
        answer = timeline(w)
        assert answer["since"] <= answer["until"]
        assert [week["week_start"] for week in answer["weeks"]] == [this_monday().isoformat()]
        week = answer["weeks"][0]
        assert (week["done"], week["target"]) == (2, 7)
        joint, solo = week["items"]
        assert (joint["mode"], joint["done"], joint["target"], joint["disputed"]) == (
            "joint",
            1,
            3,
            1,
        )
        by_partner = {p["user_id"]: (p["done"], p["target"]) for p in solo["partners"]}
        assert by_partner == {w.partner_a.id: (0, 2), w.partner_b.id: (1, 2)}
        kinds = [e["kind"] for e in answer["events"]]
        for kind in ("plan_published", "logged", "confirmed", "disputed", "note", "checkin"):
            assert kind in kinds, kind
        texts = " ".join(str(e.get("text")) for e in answer["events"])
        assert lived["note"] in texts and lived["checkin"] in texts
        assert [(r["author_id"], r["ratings"]["closeness"]) for r in answer["ratings"]] == [
            (w.partner_b.id, 7)
        ]
        only = timeline(w, kind=["disputed"])
        assert {e["kind"] for e in only["events"]} == {"disputed"}

    def test_only_the_weeks_the_couple_has_existed(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        born(engine, w, days_ago=15)
        last_week = this_monday() - timedelta(weeks=1)
        published_week(w, week=last_week, items=[item(INDIVIDUAL, "individual", 1)])
        answer = timeline(w)
        starts = [week["week_start"] for week in answer["weeks"]]
        first = this_monday() - timedelta(weeks=len(starts) - 1)
        assert starts[0] == first.isoformat() and starts[-1] == this_monday().isoformat()
        assert 3 <= len(starts) <= 4
        assert answer["weeks"][-2]["target"] == 2
        earlier = timeline(w, **{"from": (this_monday() - timedelta(weeks=20)).isoformat()})
        assert [week["week_start"] for week in earlier["weeks"]] == starts

    def test_disputes_with_what_was_said_and_logs_closed_by_leaving(self, app: FastAPI) -> None:
        w = make_world(app)
        joint = published_week(w, items=[item(JOINT, "joint", 3)])["items"][0]["id"]
        disputed = log(w.partner_a, joint).json()
        said = {"reason": "We stopped after five minutes."}
        assert (
            w.partner_b.post(f"/api/sessions/{disputed['id']}/dispute", json=said).status_code
            == 200
        )
        waiting = log(w.partner_a, joint).json()
        assert w.partner_b.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        events = timeline(w)["events"]
        [dispute] = [e for e in events if e["kind"] == "disputed"]
        assert dispute["reason"] == said["reason"] and dispute["actor_id"] == w.partner_b.id
        [closed] = [e for e in events if e["kind"] == "withdrawn"]
        assert closed["closed"] == "partner_left" and closed["done_on"] == waiting["done_on"]
        assert [s["reason"] for s in brief(w)["sessions"] if s["kind"] == "disputed"] == [
            said["reason"]
        ]
        log_of_b = w.partner_b.get("/api/me/access-log").json()
        assert "dispute_reason.read_by_therapist" in [e["action"] for e in log_of_b]

    def test_reads_are_in_the_access_log(self, app: FastAPI) -> None:
        w = make_world(app)
        write(w.partner_a, w.couple_id, "note", "therapist")
        timeline(w)
        assert reads(w.partner_a) == ["journal.read_by_therapist"]
        assert reads(w.partner_b) == []

    def test_bad_spans_are_refused_in_words(self, app: FastAPI) -> None:
        w = make_world(app)
        base = f"/api/couples/{w.couple_id}/timeline"
        for query in (
            {"from": "2026-02-10", "to": "2026-02-01"},
            {"from": "2024-01-01", "to": "2026-01-01"},
            {"from": "last week"},
            {"kind": "gossip"},
        ):
            answer = w.therapist.get(base, params=query)
            assert answer.status_code == 422, query
        words = w.therapist.get(base, params={"from": "2026-02-10", "to": "2026-02-01"})
        assert words.json()["detail"] == "The start date must be on or before the end date"


class TestBrief:
    def test_what_was_shared_is_there_and_nothing_else(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        lived = a_lived_week(w)
        shared_prep = marker("prep")
        sections = [{"key": "questions", "text": shared_prep, "visibility": "care_team"}]
        put = w.partner_a.put(f"/api/couples/{w.couple_id}/prep", json={"sections": sections})
        assert put.status_code == 200
        before, history = brief(w), timeline(w)
        canaries = private_canaries(w)
        answer = brief(w)
        assert answer == before
        assert timeline(w) == history
        for canary in canaries:
            assert canary not in str(history)
        text = str(answer)
        for mark in (lived["note"], lived["checkin"], shared_prep):
            assert mark in text
        for canary in canaries:
            assert canary not in text
        assert answer["appointment"]["note"] == "Room 2"
        assert answer["last_appointment"] is None
        assert [p["author_id"] for p in answer["preparation"]] == [w.partner_a.id]
        assert [s["kind"] for s in answer["sessions"]] == ["disputed"]
        summary = {(s["author_id"], s["key"]): s for s in answer["rating_summary"]}
        assert summary[(w.partner_b.id, "closeness")]["mean"] == 7.0
        assert [n["body"].split()[0] for n in answer["notes"]] == [lived["note"]]

    def test_every_read_is_in_the_access_log(self, app: FastAPI) -> None:
        w = make_world(app)
        book(w)
        write(w.partner_a, w.couple_id, "checkin", "care_team")
        sections = [{"key": "concern", "text": "x", "visibility": "therapist"}]
        w.partner_b.put(f"/api/couples/{w.couple_id}/prep", json={"sections": sections})
        brief(w)
        assert reads(w.partner_a) == ["journal.read_by_therapist"]
        assert reads(w.partner_b) == ["prep.read_by_therapist"]

    def test_a_date_range(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        born(engine, w, days_ago=30)
        lived = a_lived_week(w)
        today = datetime.fromisoformat(brief(w)["until"]).date()
        yesterday = (today - timedelta(days=1)).isoformat()
        before = brief(w, **{"from": (today - timedelta(days=20)).isoformat(), "to": yesterday})
        assert before["until"] == yesterday
        assert before["notes"] == [] and before["sessions"] == []
        assert lived["note"] not in str(before)
        whole = brief(w, **{"from": "2020-01-01", "to": today.isoformat()})
        assert whole["since"] == (today - timedelta(days=30)).isoformat()  # when it was born
        assert lived["note"] in str(whole)
        backwards = w.therapist.get(
            f"/api/couples/{w.couple_id}/brief", params={"from": today.isoformat(), "to": yesterday}
        )
        assert backwards.status_code == 422


class TestPartnerSummary:
    def test_my_week_mine_and_what_was_shared_with_me(self, app: FastAPI) -> None:
        w = make_world(app)
        published_week(w, items=[item(INDIVIDUAL, "individual", 2)])
        mine = write(w.partner_a, w.couple_id, "note", "private")["marker"]
        from_b = write(w.partner_b, w.couple_id, "note", "partner")["marker"]
        b_private = write(w.partner_b, w.couple_id, "note", "private")["marker"]
        b_therapist = write(w.partner_b, w.couple_id, "checkin", "therapist")["marker"]
        answer = get(
            w.partner_a,
            f"/api/couples/{w.couple_id}/summary",
            week_start=this_monday().isoformat(),
        )
        text = str(answer)
        assert mine in text and from_b in text
        assert b_private not in text and b_therapist not in text
        assert answer["partner"]["display_name"] == "Sam"
        assert answer["items"][0]["mine"] == {"done": 0, "target": 2}

    def test_a_week_starts_on_a_monday(self, app: FastAPI) -> None:
        w = make_world(app)
        tuesday = (this_monday() + timedelta(days=1)).isoformat()
        answer = w.partner_a.get(
            f"/api/couples/{w.couple_id}/summary", params={"week_start": tuesday}
        )
        assert answer.status_code == 422
        assert answer.json()["detail"] == "week_start must be a Monday"
