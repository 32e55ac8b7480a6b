"""Questionnaires in Chromium: the therapist assigns and reads results; a partner answers from
the week, meets the safety screen after a risk answer, and reads their own history; the other
partner sees none of it. The fixtures fail a test on page errors, console errors, broken text
and sideways overflow."""

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from tests.e2e.steps import heading, shot, sign_in
from tests.e2e.test_accessibility import check
from tests.factories import make_world, publish_plan
from tests.measures_support import assign

pytestmark = pytest.mark.browser


def answer_all(page: Page, choices: dict[int, str]) -> None:
    """Pick an answer in each numbered question (1-based) by its label."""
    groups = page.locator("fieldset.question")
    for number, label in choices.items():
        groups.nth(number - 1).get_by_label(label, exact=True).check()


class TestTherapist:
    def test_assign_then_read_results_as_a_chart_with_a_table(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        page.goto(f"/#/couple/{world.couple_id}")
        heading(page, "The Couple")
        page.get_by_role("link", name="Questionnaires & goals").click()
        heading(page, "Questionnaires · The Couple")
        page.get_by_label("Questionnaire", exact=True).select_option("phq9")
        page.get_by_label("Sam").uncheck()
        page.get_by_label("How often").select_option("weekly")
        page.get_by_role("button", name="Assign").click()
        # PHQ-9 asks about two weeks: weekly needs the therapist to say so.
        page.get_by_text("asks about the last 14 days").wait_for()
        page.get_by_label("Ask more often than the questionnaire’s recall period").check()
        page.get_by_role("button", name="Assign").click()
        page.get_by_text("PHQ-9 · Alex · Every week").wait_for()
        check(page, "therapist-measures-assign")
        [made] = world.therapist.get(f"/api/couples/{world.couple_id}/measure-assignments").json()
        assert (made["measure_key"], made["cadence"]) == ("phq9", "weekly")
        assert made["respondent_ids"] == [world.partner_a.id] and made["allow_short_interval"]

        # Alex answers (through the API here; the partner's screens have their own test).
        sheet = {str(k): 1 for k in range(1, 9)} | {"9": 1}
        world.partner_a.post(
            "/api/measure-responses", json={"assignment_id": made["id"], "answers": sheet}
        )
        # The overview and the couple's page say so; the partner's screens never do.
        page.goto("/#/couples")
        heading(page, "Couples")
        page.get_by_text("1 questionnaire answer needs your attention").wait_for()
        page.goto(f"/#/couple/{world.couple_id}")
        heading(page, "The Couple")
        page.get_by_role("link", name="1 questionnaire answer needs your attention").click()
        heading(page, "Questionnaires · The Couple")
        flags = page.locator("section.risk")
        flags.get_by_text("Alex: a risk answer on PHQ-9").wait_for()
        results = page.locator("article").filter(has_text="Alex · PHQ-9")
        results.get_by_text("Latest 9 of 27").wait_for()
        expect(results.locator("svg.chart")).to_have_count(1)
        expect(results.locator("table caption")).to_have_text("Alex: PHQ-9 scores over time")
        results.get_by_text("Answers, item by item").click()
        results.get_by_text("Thoughts that you would be better off dead").wait_for()
        check(page, "therapist-measures-results")
        flags.get_by_role("button", name="Clear").click()
        page.get_by_role("dialog").get_by_role("button", name="Clear").click()
        expect(page.locator("section.risk")).to_have_count(0)
        assert world.therapist.get(f"/api/couples/{world.couple_id}/risk-flags").json() == []
        log = world.partner_a.get("/api/me/access-log").json()
        assert any(e["action"] == "measures.read_by_therapist" for e in log)

    def test_a_goal_is_written_and_rated(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        page.goto(f"/#/couple/{world.couple_id}/measures")
        heading(page, "Questionnaires · The Couple")
        page.get_by_text("Add a goal").click()
        page.get_by_label("Goal", exact=True).fill("Plan one date a week")
        for level, words in zip(
            ("-2", "-1", "0", "1", "2"),
            ("No dates", "One a month", "One a week", "Two a week", "Three a week"),
            strict=True,
        ):
            page.get_by_label(re.compile(f"^{re.escape(level)}: ")).fill(words)
        page.get_by_role("button", name="Add goal").click()
        page.get_by_label("Level reached: Plan one date a week").select_option("1")
        page.get_by_role("button", name="Rate").click()
        page.get_by_text("GAS T-score: 60.0").wait_for()
        [goal] = world.partner_b.get(f"/api/couples/{world.couple_id}/goals").json()
        assert goal["owner_id"] is None and goal["ratings"][0]["level"] == 1

    def test_a_custom_questionnaire_is_written_then_assigned(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        page.goto(f"/#/couple/{world.couple_id}/measures")
        heading(page, "Questionnaires · The Couple")
        page.get_by_role("link", name="Make your own questionnaire").click()
        heading(page, "New questionnaire")
        page.get_by_label("Name").fill("Desire check")
        page.get_by_label("Recall period in days (optional)").fill("7")
        page.get_by_label("Question", exact=True).fill("I felt desire this week")
        page.get_by_label("Answers, one per line: value, then words").fill("0 Never")
        page.get_by_role("button", name="Save questionnaire").click()
        page.get_by_text("Question 1 needs at least two answers.").wait_for()
        page.get_by_label("Answers, one per line: value, then words").fill(
            "0 Never\n1 Sometimes\n2 Often"
        )
        page.get_by_role("button", name="Add a question").click()
        second = page.locator("fieldset.item-edit").nth(1)
        second.get_by_label("Question", exact=True).fill("I felt unsafe with my partner")
        second.get_by_label("Answers, one per line: value, then words").fill("0 No\n1 Yes")
        second.get_by_label(re.compile("^Risk answer")).fill("1")
        page.get_by_label("Bands (optional), one per line").fill("0-1 Low\n2-3 High")
        check(page, "custom-questionnaire-editor")
        page.get_by_role("button", name="Save questionnaire").click()
        heading(page, "Questionnaires · The Couple")
        [custom] = [m for m in world.therapist.get("/api/measures").json() if m["custom"]]
        assert custom["title"] == "Desire check" and custom["recall_days"] == 7
        assert [i["risk"] for i in custom["items"]] == [False, True]
        assert [b["label"] for b in custom["scoring"]["bands"]] == ["Low", "High"]
        page.get_by_label("Questionnaire", exact=True).select_option(custom["key"])
        page.get_by_role("button", name="Assign").click()
        page.get_by_text(re.compile(r"^Desire check · (Alex & Sam|Sam & Alex) · Once$")).wait_for()
        assert [
            d["measure"]["key"] for d in world.partner_b.get("/api/me/measures/due").json()
        ] == [custom["key"]]


class TestPartner:
    def test_answer_from_the_week_meet_the_safety_screen_and_read_my_history(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        publish_plan(app, world)
        phq = assign(world, "phq9")
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        heading(page, "This week")
        card = page.locator("section.measures-due")
        card.get_by_text("PHQ-9").wait_for()
        check(page, "week-with-questionnaire")
        card.get_by_role("link", name="Answer").click()
        heading(page, "PHQ-9")
        # Sending with questions left: a sentence next to each, nothing lost.
        answer_all(page, {1: "Several days", 2: "Several days"})
        page.get_by_role("button", name="Send my answers").click()
        page.locator("fieldset.question").nth(2).get_by_text(
            "Question 3 needs an answer."
        ).wait_for()
        expect(
            page.locator("fieldset.question").nth(0).get_by_label("Several days")
        ).to_be_checked()
        check(page, "questionnaire-incomplete")
        answer_all(page, {n: "Not at all" for n in range(3, 9)} | {9: "Several days"})
        page.get_by_role("button", name="Send my answers").click()

        heading(page, "You don’t have to carry this alone")
        page.get_by_text("call your local emergency number").wait_for()
        page.get_by_text("your partner cannot").wait_for()
        check(page, "safety-screen")
        [flag] = world.therapist.get(f"/api/couples/{world.couple_id}/risk-flags").json()
        assert flag["respondent_id"] == world.partner_a.id
        [saved] = world.therapist.get(f"/api/couples/{world.couple_id}/measure-results").json()
        assert saved["total"] == 3 and saved["risk"] is True
        assert [a["value"] for a in saved["answers"][:9]] == [1, 1, 0, 0, 0, 0, 0, 0, 1]

        # A second questionnaire without risk: the score in plain words, and sharing it.
        gad = assign(world, "gad7")
        page.goto(f"/#/questionnaire/{gad['id']}")
        heading(page, "GAD-7")
        answer_all(page, {n: "Several days" for n in range(1, 8)})
        page.get_by_role("button", name="Send my answers").click()
        heading(page, "Thank you")
        page.get_by_text("Some signs of anxiety").wait_for()
        page.get_by_role("button", name="Show this result to my partner").click()
        page.get_by_text("Shared: your partner can now see this score").wait_for()
        [shared] = world.partner_b.get(
            f"/api/couples/{world.couple_id}/measure-results/shared"
        ).json()
        assert (shared["measure_key"], shared["total"]) == ("gad7", 7)

        page.get_by_role("link", name="My questionnaires").click()
        heading(page, "My questionnaires")
        page.get_by_text("Few or no signs of depression").wait_for()
        gad_card = page.locator("article.result").filter(has_text="GAD-7")
        gad_card.get_by_role("button", name="Stop sharing with my partner").click()
        gad_card.get_by_role("button", name="Share with my partner").wait_for()
        assert (
            world.partner_b.get(f"/api/couples/{world.couple_id}/measure-results/shared").json()
            == []
        )
        check(page, "my-questionnaires")
        assert phq["id"] != gad["id"]

    def test_the_other_partner_sees_nothing_of_it(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        publish_plan(app, world)
        made = assign(world, "phq9")
        sheet = {str(k): 0 for k in range(1, 9)} | {"9": 2}
        world.partner_a.post(
            "/api/measure-responses", json={"assignment_id": made["id"], "answers": sheet}
        )
        assign(world, "gad7")
        page = new_context().new_page()
        sign_in(page, world.partner_b.email)
        heading(page, "This week")
        page.wait_for_load_state("networkidle")
        expect(page.locator("section.measures-due")).to_have_count(0)
        for word in ("PHQ", "GAD", "questionnaire from", "risk"):
            assert word not in page.locator("main").inner_text()
        page.goto("/#/my-measures")
        heading(page, "My questionnaires")
        page.get_by_text("You have not answered a questionnaire yet.").wait_for()
        assert "PHQ" not in page.locator("main").inner_text()

    def test_a_shared_score_reaches_the_other_partner(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        made = assign(world, "gad7")
        sheet = {str(k): 1 for k in range(1, 8)}
        saved = world.partner_a.post(
            "/api/measure-responses", json={"assignment_id": made["id"], "answers": sheet}
        ).json()
        world.partner_a.post(f"/api/measure-responses/{saved['id']}/share")
        page = new_context().new_page()
        sign_in(page, world.partner_b.email)
        page.goto("/#/my-measures")
        heading(page, "My questionnaires")
        page.get_by_role("heading", name="Shared with you by your partner").wait_for()
        # The score in words, not the answers (it once read "[object HTMLParagraphElement]").
        shared = page.locator("p.card").filter(has_text="GAD-7")
        expect(shared).to_have_count(1)
        assert "7 of 21" in shared.inner_text()
        shot(page, "shared-score")
        [seen] = world.partner_b.get(
            f"/api/couples/{world.couple_id}/measure-results/shared"
        ).json()
        assert (seen["measure_key"], seen["total"], seen["id"]) == ("gad7", 7, saved["id"])
