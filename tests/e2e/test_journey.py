"""The whole journey in a real browser: a therapist and two partners, each in their own context."""

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from tests.e2e.steps import api_login, email, heading, sign_up

pytestmark = pytest.mark.browser


def invite_partner(page, previous: str = "") -> str:  # noqa: ANN001
    page.get_by_role("button", name="Invite a partner").click()
    code = page.get_by_test_id("invitation-code")
    code.wait_for()
    if previous:
        expect(code).not_to_have_text(previous)
    link = page.get_by_test_id("invitation-link").inner_text()
    assert "#/join/" in link and "?" not in link  # the code travels in the fragment only
    return code.inner_text().strip()


class TestTheWholeJourney:
    def test_therapist_and_partners_plan_log_confirm_and_keep_notes_apart(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        # The therapist signs up, creates a couple, invites both partners.
        therapist = new_context().new_page()
        therapist_email = email("therapist")
        sign_up(therapist, name="Dr Rivera", address=therapist_email, therapist=True)
        heading(therapist, "Couples")
        therapist.get_by_label("Label").fill("R & S")
        therapist.get_by_role("button", name="Create couple").click()
        heading(therapist, "R & S")
        code_a = invite_partner(therapist)
        code_b = invite_partner(therapist, code_a)
        assert code_a != code_b

        # Two partners, two browsers: each signs up straight from the invitation link.
        alex = new_context().new_page()
        sign_up(alex, name="Alex", address=email("alex"), code=code_a)
        heading(alex, "This week")
        sam = new_context().new_page()
        sign_up(sam, name="Sam", address=email("sam"), code=code_b)
        heading(sam, "This week")
        sam.get_by_text("No plan for this week yet").wait_for()

        therapist.reload()
        heading(therapist, "R & S")
        therapist.get_by_text("Alex & Sam").wait_for()

        # The therapist builds and publishes this week's plan from the library.
        therapist.get_by_role("link", name="This week’s plan").click()
        heading(therapist, re.compile("Plan for"))
        picker = therapist.get_by_label("From the library")
        option = picker.locator("option", has_text="Sensate focus").first
        if option.count() == 0:
            option = picker.locator("option[value]:not([value=''])").first
        picker.select_option(option.get_attribute("value"))
        therapist.get_by_role("button", name="Add to the plan").click()
        therapist.get_by_label("Mode").select_option("joint")
        therapist.get_by_label("Times per week").fill("2")
        therapist.get_by_role("button", name="Publish").click()
        heading(therapist, "R & S")

        # Alex logs a joint session; it waits for Sam.
        alex.reload()
        heading(alex, "This week")
        card = alex.locator("article.item").first
        card.get_by_text("0 of 2 done").wait_for()
        card.get_by_role("button", name="We did it").click()
        card = alex.locator("article.item").first
        card.get_by_text("Waiting for Sam to confirm").wait_for()

        # Sam sees it waiting for them, and confirms.
        sam.reload()
        heading(sam, "This week")
        card = sam.locator("article.item").first
        card.get_by_text("It's waiting for you").wait_for()
        card.get_by_role("button", name="Yes, we did it").click()
        sam.locator("article.item").first.get_by_text("1 of 2 done").wait_for()

        alex.reload()
        alex.locator("article.item").first.get_by_text("1 of 2 done").wait_for()
        couple_url = therapist.url
        therapist.goto("/#/couples")
        therapist.get_by_text("1/2").wait_for()
        therapist.goto(couple_url)
        therapist.locator("svg.chart").first.wait_for()  # adherence over the weeks

        # Alex keeps a private note and shares another; only the shared one reaches the others.
        alex.goto("/#/notes/private")
        heading(alex, "Notes")
        alex.get_by_label("New note").fill("PRIVATE-CANARY only for me")
        alex.get_by_role("button", name="Save note").click()
        alex.get_by_text("PRIVATE-CANARY only for me").wait_for()
        alex.goto("/#/notes/shared")
        heading(alex, "Notes")
        alex.get_by_label("New note").fill("SHARED-HELLO for both of you")
        alex.get_by_label(re.compile("My partner and my therapist")).check()
        alex.get_by_role("button", name="Save note").click()
        alex.get_by_text("SHARED-HELLO for both of you").wait_for()
        assert alex.get_by_text("PRIVATE-CANARY").count() == 0  # the tabs never mix

        for tab in ("shared", "private"):
            sam.goto(f"/#/notes/{tab}")
            heading(sam, "Notes")
            sam.locator(".entries").wait_for()
            sam.wait_for_load_state("networkidle")
            assert "PRIVATE-CANARY" not in sam.content()
        sam.goto("/#/notes/shared")
        sam.get_by_text("SHARED-HELLO for both of you").wait_for()

        therapist.goto(couple_url)
        therapist.reload()
        therapist.get_by_text("SHARED-HELLO for both of you").wait_for()
        assert "PRIVATE-CANARY" not in therapist.content()

        # And the server agrees: the therapist's API never hands the private note over.
        client = api_login(app, therapist_email)
        couple_id = couple_url.rsplit("/", 1)[-1]
        assert "PRIVATE-CANARY" not in client.get(f"/api/couples/{couple_id}/notes").text
