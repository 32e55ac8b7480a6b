"""The session brief's questionnaires, goals and agreed practice times (issues 17 and 18): the
latest score per person and measure against their first, goals with their latest level, the
times the partners planned in the brief's weeks; read only by the therapist they were given to,
and every read in the access log."""

from datetime import date, time, timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from tests.factories import World, invite, make_world, register
from tests.measures_support import (
    PHQ9_CALM,
    answer,
    answered_earlier,
    assign,
    custom_measure,
)
from tests.practice_support import agreed, at, next_week, propose
from tests.test_workspace_brief import brief


def created(reply) -> dict:  # noqa: ANN001
    assert reply.status_code == 201, reply.text
    return reply.json()


def goal(w: World, title: str, owner: str | None) -> dict:
    levels = {k: f"{title} {k}" for k in ("-2", "-1", "0", "1", "2")}
    body = {"title": title, "levels": levels, "owner_id": owner}
    return created(w.therapist.post(f"/api/couples/{w.couple_id}/goals", json=body))


def measure_reads(partner) -> list[str | None]:  # noqa: ANN001
    log = partner.get("/api/me/access-log").json()
    return [e.get("what") for e in log if e["action"] == "measures.read_by_therapist"]


class TestQuestionnairesInTheBrief:
    def test_the_latest_score_against_the_first_with_its_band_and_reliable_change(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        phq9 = assign(w, "phq9", w.partner_a, cadence="biweekly")
        first = created(answer(w.partner_a, phq9["id"], {**PHQ9_CALM, "1": 3, "2": 3, "3": 3}))
        answered_earlier(engine, first["id"], days=14)
        created(answer(w.partner_a, phq9["id"], {**PHQ9_CALM, "1": 1}))
        gad7 = assign(w, "gad7", w.partner_b)
        created(answer(w.partner_b, gad7["id"], {str(k): 2 for k in range(1, 8)}))

        found = {(m["respondent_id"], m["measure_key"]): m for m in brief(w)["measures"]}
        alex = found[(w.partner_a.id, "phq9")]
        assert (alex["total"], alex["first_total"], alex["change"]) == (1, 9, -8)
        assert alex["reliable_change"] == "improved" and alex["count"] == 2
        assert alex["band"]["plain"] == "Few or no signs of depression"
        assert alex["max_total"] == 27 and alex["higher_is"] == "worse" and not alex["risk"]
        sam = found[(w.partner_b.id, "gad7")]
        assert (sam["total"], sam["change"], sam["reliable_change"]) == (14, None, None)
        assert sam["band"]["label"] == "Moderate"
        # Each read is in the respondent's own access log, saying where it was read.
        assert measure_reads(w.partner_a) == ["session brief"]
        assert measure_reads(w.partner_b) == ["session brief"]

    def test_a_risk_answer_is_marked_and_a_brief_before_it_does_not_show_it(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = make_world(app)
        phq9 = assign(w, "phq9", w.partner_a)
        given = created(answer(w.partner_a, phq9["id"], {**PHQ9_CALM, "9": 1}))
        [latest] = brief(w)["measures"]
        assert latest["risk"] is True
        answered_earlier(engine, given["id"], days=3)
        day = str(_days_ago(w, 5))
        week_ago = brief(w, **{"from": day, "to": day})
        assert week_ago["measures"] == []

    def test_answers_given_for_another_therapist_never_appear(
        self, app: FastAPI, engine: Engine
    ) -> None:
        """What Alex answered for the couple's first therapist and then showed only to Sam,
        and what another therapist's couple answered, stay out of the new therapist's brief."""
        w = make_world(app)
        words = "MEASURE-CANARY-before"
        mine = custom_measure(w.therapist, words)
        made = assign(w, mine, w.partner_a)
        given = created(answer(w.partner_a, made["id"], {"1": 0}))
        assert w.partner_a.post(f"/api/measure-responses/{given['id']}/share").status_code == 200
        assert w.therapist.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        newcomer = register(
            app, role="therapist", invitation_code=invite(w.partner_a, w.couple_id, "therapist")
        )
        other = make_world(app)
        theirs = custom_measure(other.therapist, "MEASURE-CANARY-other")
        created(answer(other.partner_a, assign(other, theirs)["id"], {"1": 0}))

        seen = newcomer.get(f"/api/couples/{w.couple_id}/brief")
        assert seen.status_code == 200, seen.text
        assert seen.json()["measures"] == []
        assert "CANARY" not in seen.text
        assert measure_reads(w.partner_a) == []
        # Sam, who was shown it, still sees it; the first therapist's brief is gone with them.
        shared = w.partner_b.get(f"/api/couples/{w.couple_id}/measure-results/shared").json()
        assert [r["total"] for r in shared] == [0]


class TestGoalsInTheBrief:
    def test_every_goal_with_its_latest_level_and_the_t_score(self, app: FastAPI) -> None:
        w = make_world(app)
        own = goal(w, "Say what I would like", w.partner_a.id)
        ours = goal(w, "An evening a week for us", None)
        for actor, level in ((w.therapist, -1), (w.partner_a, 1)):
            rated = actor.post(f"/api/goals/{own['id']}/ratings", json={"level": level})
            assert rated.status_code == 201, rated.text
        answer_ = brief(w)
        goals = {g["id"]: g for g in answer_["goals"]}
        assert [r["level"] for r in goals[own["id"]]["ratings"]] == [-1, 1]
        assert goals[own["id"]]["owner_id"] == w.partner_a.id
        assert goals[ours["id"]]["ratings"] == []
        assert answer_["goal_attainment"]["rated"] == 1 and answer_["goal_attainment"]["goals"] == 2
        assert round(answer_["goal_attainment"]["t_score"], 1) == 60.0


class TestAgreedTimesInTheBrief:
    def test_accepted_and_proposed_times_of_the_weeks_and_nothing_called_off(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, solo = plan["items"][0]["id"], plan["items"][1]["id"]
        tuesday, thursday = week + timedelta(days=1), week + timedelta(days=3)
        accepted = agreed(w.partner_a, w.partner_b, joint, at(tuesday, time(19, 30)))
        proposed = propose(w.partner_b, joint, at(thursday, time(20, 0)))
        mine = propose(w.partner_a, solo, at(thursday, time(7, 15)))
        declined = propose(w.partner_a, joint, at(week + timedelta(days=5), time(10, 0)))
        assert w.partner_b.post(f"/api/slots/{declined['id']}/decline").status_code == 200
        off = propose(w.partner_a, solo, at(week + timedelta(days=6), time(9, 0)))
        assert w.partner_a.delete(f"/api/slots/{off['id']}").status_code == 204

        sunday = week + timedelta(days=6)
        answer_ = brief(w, **{"from": str(week - timedelta(days=7)), "to": str(sunday)})
        times = answer_["practice_times"]
        assert [t["id"] for t in times] == [accepted["id"], mine["id"], proposed["id"]]
        assert [t["status"] for t in times] == ["accepted", "accepted", "proposed"]
        assert {t["week_start"] for t in times} == {str(week)}
        assert [t["mode"] for t in times] == ["joint", "individual", "joint"]
        titles = {i["id"]: i["title"] for i in plan["items"]}
        assert [t["title"] for t in times] == [titles[joint], titles[solo], titles[joint]]
        # The brief up to this week holds none of next week's times.
        assert brief(w)["practice_times"] == []


def _days_ago(w: World, days: int) -> date:
    return date.fromisoformat(brief(w)["until"]) - timedelta(days=days)
