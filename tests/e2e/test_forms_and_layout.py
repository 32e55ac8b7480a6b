"""Forms that help instead of refusing: an invitation code checked first, time zones found by
city, errors in plain words next to their field, nothing typed lost on the way (plan drafts,
notes written offline), and every screen usable at 320 px wide and at 200 % text size."""

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from tests.e2e.steps import email, heading, screen_is_clean, sign_in
from tests.factories import create_couple, invite, make_world, publish_plan, register

pytestmark = pytest.mark.browser

LONG_WORD = "w" * 5000


def this_monday() -> str:
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    return (today - timedelta(days=today.weekday())).isoformat()


def next_to(page, label: str):  # noqa: ANN001, ANN201
    """The field (label, control, hint, error) a label belongs to."""
    return page.locator(".field", has=page.get_by_label(label, exact=True))


class TestInvitationCodeFirst:
    def test_a_wrong_or_used_code_is_said_at_once_and_a_good_one_opens_the_form(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        therapist = register(app, role="therapist", name="Dr Rivera")
        couple_id = create_couple(therapist)
        used = invite(therapist, couple_id)
        register(app, invitation_code=used)
        good = invite(therapist, couple_id)

        page = new_context().new_page()
        page.goto("/#/join")
        heading(page, "Join with a code")
        page.get_by_label("Invitation code").fill("NOT-A-REAL-CODE")
        page.get_by_role("button", name="Check the code").click()
        next_to(page, "Invitation code").get_by_text("This code doesn’t work").wait_for()
        expect(page.get_by_role("button", name="Create account")).to_have_count(0)
        assert page.url.endswith("#/join")

        page.goto(f"/#/join/{used}")  # a link whose code was used already
        heading(page, "Join with a code")
        next_to(page, "Invitation code").get_by_text("already used").wait_for()
        expect(page.get_by_role("button", name="Create account")).to_have_count(0)
        screen_is_clean(page)

        page.get_by_label("Invitation code").fill(good)
        page.get_by_role("button", name="Check the code").click()
        page.get_by_text("You're invited to join as a partner.").wait_for()
        expect(page.get_by_role("button", name="Create account")).to_be_visible()
        screen_is_clean(page)


class TestTimeZones:
    def test_a_city_is_found_and_an_unknown_place_is_explained(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        therapist = register(app, role="therapist", name="Dr Rivera")
        page = new_context(timezone_id="Asia/Tokyo").new_page()
        sign_in(page, therapist.email)
        heading(page, "Couples")
        zone = page.get_by_label("Time zone")
        expect(zone).to_have_value("Asia/Tokyo")  # this device's zone to start with
        page.get_by_label("Label").fill("T & Z")
        zone.fill("Atlantis")
        zone.press("Tab")
        field = next_to(page, "Time zone")
        field.get_by_text("Tandem doesn’t know a time zone called “Atlantis”").wait_for()
        page.get_by_role("button", name="Create couple").click()
        field.get_by_text("called “Atlantis”").wait_for()
        assert therapist.get("/api/couples").json() == []  # nothing was sent

        zone.fill("Berlin")
        zone.press("Tab")
        expect(zone).to_have_value("Europe/Berlin")
        field.get_by_text(re.compile(r"Europe/Berlin: it is .+ there now")).wait_for()
        zone.fill("new york")
        page.get_by_role("button", name="Create couple").click()
        heading(page, "T & Z")
        [couple] = therapist.get("/api/couples").json()
        assert couple["timezone"] == "America/New_York"


class TestPlainWords:
    def test_a_refused_plan_says_so_next_to_the_field(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        week = this_monday()
        page.goto(f"/#/couple/{world.couple_id}/plan/{week}")
        heading(page, re.compile("Plan for"))
        picker = page.get_by_label("From the library")
        picker.select_option(
            picker.locator("option[value]:not([value=''])").first.get_attribute("value")
        )
        page.get_by_role("button", name="Add to the plan").click()
        page.get_by_label("Times per week").fill("0")
        page.get_by_role("button", name="Save draft").click()
        next_to(page, "Times per week").get_by_text("Please enter 1 or more.").wait_for()
        expect(page.get_by_label("Times per week")).to_have_attribute("aria-invalid", "true")
        screen_is_clean(page)  # never "Input should be greater than or equal to 1"
        base = f"/api/couples/{world.couple_id}/plans/{week}"
        assert world.therapist.get(base).status_code == 404

    def test_a_blank_name_at_sign_up_is_said_next_to_it(self, new_context) -> None:  # noqa: ANN001
        page = new_context().new_page()
        page.goto("/#/signup")
        heading(page, "Create your account")
        page.get_by_label("Your name").fill("   ")
        page.get_by_label("Email").fill(email("blank"))
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Create account").click()
        next_to(page, "Your name").get_by_text("Please fill this in.").wait_for()
        screen_is_clean(page)


class TestNothingTypedIsLost:
    def test_back_in_the_plan_editor_keeps_the_draft_in_memory(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        page.goto(f"/#/couple/{world.couple_id}")
        heading(page, "The Couple")
        page.get_by_role("link", name="This week’s plan").click()
        heading(page, re.compile("Plan for"))
        picker = page.get_by_label("From the library")
        picker.select_option(
            picker.locator("option[value]:not([value=''])").first.get_attribute("value")
        )
        page.get_by_role("button", name="Add to the plan").click()
        page.get_by_label("Times per week").fill("5")
        page.get_by_label("Note to the couple").fill("Gently, this week.")

        page.go_back()
        heading(page, "The Couple")
        page.get_by_text("Your unsaved plan changes are kept").wait_for()
        page.get_by_role("link", name="This week’s plan").click()
        heading(page, re.compile("Plan for"))
        page.get_by_test_id("plan-draft").wait_for()
        expect(page.get_by_label("Times per week")).to_have_value("5")
        expect(page.get_by_label("Note to the couple")).to_have_value("Gently, this week.")
        base = f"/api/couples/{world.couple_id}/plans/{this_monday()}"
        assert world.therapist.get(base).status_code == 404  # only in memory so far

        page.get_by_role("button", name="Save draft").click()
        page.get_by_text("Draft saved.").wait_for()
        saved = world.therapist.get(base).json()
        assert saved["items"][0]["times_per_week"] == 5 and saved["note"] == "Gently, this week."
        expect(page.get_by_test_id("plan-draft")).to_be_hidden()

    def test_a_note_written_offline_is_kept_until_it_can_be_sent(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        publish_plan(app, world)
        context = new_context()
        page = context.new_page()
        sign_in(page, world.partner_a.email)
        page.goto("/#/notes/private")
        heading(page, "Notes")
        context.set_offline(True)
        page.get_by_label("New note").fill("written on the train")
        page.get_by_role("button", name="Save note").click()
        page.get_by_text("Your note is kept here while Tandem is open").wait_for()
        page.get_by_role("link", name="This week").click()
        heading(page, "This week")
        page.get_by_text("Your unfinished note is kept while Tandem is open").wait_for()
        page.get_by_role("link", name="Notes").click()
        heading(page, "Notes")
        expect(page.get_by_label("New note")).to_have_value("written on the train")
        page.get_by_test_id("draft-kept").wait_for()
        assert page.evaluate("JSON.stringify(localStorage)").find("train") == -1  # memory only

        context.set_offline(False)
        page.get_by_role("button", name="Save note").click()
        page.get_by_text("Note saved.").wait_for()
        expect(page.get_by_label("New note")).to_have_value("")
        notes = world.partner_a.get("/api/me/notes").json()
        assert [n["body"] for n in notes] == ["written on the train"]

    def test_a_five_thousand_character_word_wraps_and_the_dialog_stays_on_screen(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        world.partner_a.post(
            f"/api/couples/{world.couple_id}/notes",
            json={"body": LONG_WORD, "visibility": "private"},
        )
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        page.goto("/#/notes/private")
        heading(page, "Notes")
        page.locator(".entry .body").wait_for()
        screen_is_clean(page)
        page.get_by_role("button", name="Delete").click()
        dialog = page.get_by_role("dialog")
        box = dialog.bounding_box()
        width = page.viewport_size["width"]
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        expect(dialog.get_by_role("button", name="Cancel")).to_be_in_viewport()
        dialog.get_by_role("button", name="Cancel").click()


PARTNER_SCREENS = [
    ("week", "This week"),
    ("checkin", "Check-in"),
    ("notes/private", "Notes"),
    ("notes/shared", "Notes"),
    ("invite", "Invite"),
    ("guide", None),
    ("therapist", None),
    ("prep", None),
    ("exercise/{exercise}", None),
    ("session/{session}", None),
    ("my-measures", None),
    ("settings", "Settings"),
]
THERAPIST_SCREENS = [
    ("couples", "Couples"),
    ("couple/{couple}", "The Couple"),
    ("couple/{couple}/plan/{week}", None),
    ("couple/{couple}/prep", None),
    ("couple/{couple}/measures", None),
    ("measures/new", None),
    ("library", "Exercises"),
    ("profile", "My profile"),
    ("settings", "Settings"),
]
VISITOR_SCREENS = [
    ("signin", "Welcome back"),
    ("signup", "Create your account"),
    ("recover", "Set a new password"),
    ("join", "Join with a code"),
]


def walk(page, screens, **values: str) -> None:  # noqa: ANN001
    for path, title in screens:
        page.goto(f"/#/{path.format(**values)}")
        if title:
            heading(page, title)
        else:
            page.locator("h1").first.wait_for()
        page.wait_for_load_state("networkidle")  # what loads after the heading counts too
        screen_is_clean(page)


def bigger_text(page) -> None:  # noqa: ANN001
    """The browser's own text size at 200 % (what a person sets in their browser or phone):
    everything sized in rem doubles."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})


class TestEveryScreenFits:
    @pytest.mark.parametrize("size", ["320px", "200% text"])
    def test_at_320_px_and_at_200_percent_text(self, app: FastAPI, new_context, size: str) -> None:  # noqa: ANN001
        world = make_world(app)
        item = publish_plan(app, world)
        world.partner_a.post(
            f"/api/couples/{world.couple_id}/notes",
            json={"body": LONG_WORD, "visibility": "care_team"},
        )
        logged = world.partner_b.post(
            f"/api/plan-items/{item}/sessions", json={"client_id": str(uuid.uuid4())}
        ).json()
        exercise = world.therapist.get("/api/exercises").json()[0]["id"]
        people = [("visitor", None), ("partner", world.partner_a), ("therapist", world.therapist)]
        for who, actor in people:
            page = new_context().new_page()
            if size == "320px":
                page.set_viewport_size({"width": 320, "height": 640})
            else:
                bigger_text(page)
            if actor is not None:
                sign_in(page, actor.email)
            if who == "visitor":
                walk(page, VISITOR_SCREENS)
            elif who == "partner":
                walk(page, PARTNER_SCREENS, exercise=exercise, session=logged["id"])
            else:
                walk(page, THERAPIST_SCREENS, couple=world.couple_id, week=this_monday())
            if size != "320px":
                assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") > 30
            page.close()
