"""What the parts built apart show the therapist together (issues 17 and 18): on the couple's
page a trend per partner and questionnaire with its bands, the risk answers still open and the
practice times planned this week; in the brief the latest results, goals and planned times; the
Couples tab current on every page of a couple. Partners rate their own goals."""

from datetime import time, timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from tests.e2e.steps import heading, screen_is_clean, sign_in
from tests.factories import World, make_world
from tests.measures_support import questionnaire_history
from tests.plans_support import INDIVIDUAL, JOINT, item, published_week, this_monday
from tests.practice_support import at, standing_time

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}, "is_mobile": False, "has_touch": False}


def planned_week(w: World, engine: Engine) -> dict[str, str]:
    """This week: a joint time agreed for Tuesday evening, one Sam suggested for Thursday;
    one Alex called off (not shown)."""
    plan = published_week(w, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    joint = plan["items"][0]
    monday = this_monday()
    common = {"couple_id": w.couple_id, "item_id": joint["id"]}
    standing_time(
        engine,
        **common,
        starts_at=at(monday + timedelta(days=1), time(19, 30)),
        proposed_by=w.partner_a.id,
        answered_by=w.partner_b.id,
    )
    standing_time(
        engine,
        **common,
        starts_at=at(monday + timedelta(days=3), time(20, 0)),
        proposed_by=w.partner_b.id,
    )
    return {"title": joint["title"]}


def goals(w: World) -> None:
    levels = {k: f"level {k}" for k in ("-2", "-1", "0", "1", "2")}
    levels["1"] = "Two evenings a month"
    body = {"title": "Evenings for us", "levels": levels, "owner_id": None}
    made = w.therapist.post(f"/api/couples/{w.couple_id}/goals", json=body).json()
    assert (
        w.therapist.post(f"/api/goals/{made['id']}/ratings", json={"level": 1}).status_code == 201
    )


def section(page, heading: str):  # noqa: ANN001, ANN201
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def couples_tab_is_current(page) -> None:  # noqa: ANN001
    current = page.locator("#tabs a[aria-current]")
    expect(current).to_have_count(1)
    expect(current).to_have_text("Couples")


class TestTheCouplesPage:
    @pytest.mark.parametrize("size", ["desktop", "phone"])
    def test_questionnaire_trends_risk_answers_and_this_weeks_times(
        self, app: FastAPI, engine: Engine, new_context, size: str
    ) -> None:  # noqa: ANN001
        w = make_world(app)
        questionnaire_history(w, engine)
        planned = planned_week(w, engine)
        page = new_context(**(DESKTOP if size == "desktop" else {})).new_page()
        sign_in(page, w.therapist.email)
        page.goto(f"/#/couple/{w.couple_id}")
        heading(page, "The Couple")
        couples_tab_is_current(page)

        panel = section(page, "Questionnaires")
        alex = panel.locator(".person-trends", has=page.get_by_role("heading", name="Alex"))
        phq = alex.locator(".small-chart", has_text="PHQ-9")
        expect(phq).to_contain_text("2 of 27 · Few or no signs of depression")
        expect(phq).to_contain_text("−9 since the first: improved")
        expect(phq.locator("svg.chart rect.band")).to_have_count(5)  # its five bands
        expect(phq.locator("table caption")).to_have_text("Alex: PHQ-9 scores over time")
        expect(phq.locator("tbody tr")).to_have_count(2)
        sam = panel.locator(".person-trends", has=page.get_by_role("heading", name="Sam"))
        expect(sam.locator(".small-chart")).to_have_count(2)
        expect(sam.locator(".small-chart", has_text="GAD-7")).to_contain_text(
            "7 of 21 · Some signs of anxiety"
        )
        risk = panel.locator(".risk-list")
        expect(risk).to_contain_text("Sam: PHQ-9")
        risk.get_by_role("link", name="Review and clear").wait_for()

        times = page.locator(
            "section", has=page.get_by_role("heading", name="Practice times this week")
        )
        rows = times.locator("li.planned")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text(f"{planned['title']} · agreed")
        expect(rows.nth(1)).to_contain_text("suggested by Sam, not answered yet")
        expect(times.get_by_role("button")).to_have_count(0)  # read-only
        screen_is_clean(page)
        # What the page read is the therapist's, and in each partner's access log.
        for partner in (w.partner_a, w.partner_b):
            log = partner.get("/api/me/access-log").json()
            assert any(e["action"] == "measures.read_by_therapist" for e in log)

        risk.get_by_role("link", name="Review and clear").click()
        heading(page, "Questionnaires · The Couple")
        couples_tab_is_current(page)


class TestTheBrief:
    def test_latest_results_goals_and_the_times_planned(
        self, app: FastAPI, engine: Engine, new_context
    ) -> None:  # noqa: ANN001
        w = make_world(app)
        questionnaire_history(w, engine)
        planned = planned_week(w, engine)
        goals(w)
        page = new_context(**DESKTOP).new_page()
        sign_in(page, w.therapist.email)
        page.goto(f"/#/couple/{w.couple_id}")
        heading(page, "The Couple")
        page.get_by_role("link", name="Session brief").click()
        heading(page, "Session brief")
        couples_tab_is_current(page)

        measures = page.locator(
            "section", has=page.get_by_role("heading", name="Questionnaires and goals")
        )
        alex = measures.locator("tr", has_text="PHQ-9").filter(has_text="Alex")
        expect(alex).to_contain_text("2 of 27")
        expect(alex).to_contain_text("Few or no signs of depression (minimal)")
        expect(alex).to_contain_text("−9 since the first: improved (11 on")
        sam = measures.locator("tr", has_text="GAD-7")
        expect(sam).to_contain_text("Some signs of anxiety (mild)")
        expect(sam).to_contain_text("First answer")
        expect(measures.locator("tr", has_text="PHQ-9").filter(has_text="Sam")).to_contain_text(
            "a risk answer"
        )
        goal = measures.locator("tr", has_text="Evenings for us")
        expect(goal).to_contain_text("+1 more than expected: Two evenings a month")
        expect(goal).to_contain_text("by you")
        expect(measures).to_contain_text("GAS T-score 60.0")

        weeks = page.locator(
            "section", has=page.get_by_role("heading", name="The weeks in these dates")
        )
        times = weeks.locator(".table-block", has_text="Practice times")
        expect(times.locator("tbody tr")).to_have_count(2)
        expect(times.locator("tbody tr").first).to_contain_text(planned["title"])
        expect(times.locator("tbody tr").first).to_contain_text("agreed")
        screen_is_clean(page)
        for partner in (w.partner_a, w.partner_b):
            log = partner.get("/api/me/access-log").json()
            assert {"action": "measures.read_by_therapist", "what": "session brief"} in [
                {"action": e["action"], "what": e.get("what")} for e in log
            ]


class TestTheCouplesTab:
    def test_current_on_every_page_of_a_couple(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w = make_world(app)
        page = new_context(**DESKTOP).new_page()
        sign_in(page, w.therapist.email)
        heading(page, "Couples")
        expect(page.locator("#tabs a[aria-current='page']")).to_have_text("Couples")
        for path, title in [
            (f"/#/couple/{w.couple_id}", "The Couple"),
            (f"/#/couple/{w.couple_id}/plan/{this_monday()}", None),
            (f"/#/couple/{w.couple_id}/brief", "Session brief"),
            (f"/#/couple/{w.couple_id}/measures", "Questionnaires · The Couple"),
            (f"/#/couple/{w.couple_id}/prep", None),
        ]:
            page.goto(path)
            if title:
                heading(page, title)
            else:
                page.locator("h1").wait_for()
            couples_tab_is_current(page)
        page.goto("/#/library")
        heading(page, "Exercises")
        expect(page.locator("#tabs a[aria-current]")).to_have_text("Exercises")


class TestPartnersRateTheirGoals:
    def test_rate_my_own_goal_and_see_it_saved(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w = make_world(app)
        words = {
            "-2": "I keep going when I'd rather stop",
            "-1": "I stop, and apologise at length",
            "0": "I say I'd like to stop, with a short sorry",
            "1": "I say I'd like to stop, plainly",
            "2": "I say what I'd like instead, warmly",
        }
        body = {"title": "Say when I'd like to stop", "levels": words, "owner_id": w.partner_a.id}
        mine = w.therapist.post(f"/api/couples/{w.couple_id}/goals", json=body).json()
        page = new_context().new_page()
        sign_in(page, w.partner_a.email)
        heading(page, "This week")
        page.get_by_role("link", name="My questionnaires and goals").click()
        heading(page, "My questionnaires and goals")
        card = page.locator("article.goal", has_text="Say when I'd like to stop")
        expect(card).to_contain_text("Your own goal")
        expect(card).to_contain_text("Not rated yet.")
        card.get_by_role("button", name="Save my rating").click()
        expect(card.get_by_text("Choose the level that fits best now.")).to_be_visible()
        card.get_by_label("I say I'd like to stop, plainly").check()
        card.get_by_role("button", name="Save my rating").click()
        expect(card).to_contain_text("Last rated +1, “I say I'd like to stop, plainly” (by you,")
        screen_is_clean(page)
        [goal] = [g for g in w.therapist.get(f"/api/couples/{w.couple_id}/goals").json()]
        assert goal["id"] == mine["id"]
        assert [(r["level"], r["rated_by"]) for r in goal["ratings"]] == [(1, w.partner_a.id)]
        # Sam's screen shows nothing of Alex's own goal.
        other = new_context().new_page()
        sign_in(other, w.partner_b.email)
        other.goto("/#/my-measures")
        heading(other, "My questionnaires and goals")
        other.get_by_text("Your therapist hasn’t set any goals with you yet.").wait_for()
        assert "stop" not in other.locator("main").inner_text()
