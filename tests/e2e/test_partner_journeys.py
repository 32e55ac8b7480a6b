"""The partners' core journeys, walked in the browser as the people do, each person in their own
context: logging, confirming, disputing with a reason, each partner's own count, check-ins,
notes in every visibility, leaving, and a couple of one. Every step is checked on screen and
against what the server then holds."""

import re
import uuid

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tandem.reminders.models import Notification
from tests.e2e.steps import api_login, email, heading, shot, sign_in, sign_up, wait_for_worker
from tests.factories import World, make_world
from tests.plans_support import INDIVIDUAL, JOINT, item, published_week

pytestmark = pytest.mark.browser


def week(page: Page) -> None:
    """This week, as the server has it now."""
    if page.url.endswith("#/week"):
        page.reload()
    else:
        page.goto("/#/week")
    heading(page, "This week")
    page.locator("article.item").first.wait_for()


def card(page: Page, title: str):  # noqa: ANN201
    return page.locator("article.item", has=page.get_by_role("heading", name=title))


def plan_of(actor, couple_id: str) -> dict:  # noqa: ANN001
    answer = actor.get(f"/api/couples/{couple_id}/plans/current")
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def world(app: FastAPI) -> World:
    world = make_world(app)
    published_week(world, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 7)])
    return world


class TestLoggingConfirmingDisputing:
    def test_a_dispute_with_a_reason_reaches_the_logger_and_the_therapist(
        self, world: World, new_context
    ) -> None:  # noqa: ANN001
        alex, sam, therapist = (new_context().new_page() for _ in range(3))
        sign_in(alex, world.partner_a.email)
        sign_in(sam, world.partner_b.email)
        sign_in(therapist, world.therapist.email)
        plan = plan_of(world.partner_a, world.couple_id)
        joint_title, solo_title = (i["title"] for i in plan["items"])

        # Alex logs a session together; Sam confirms it.
        week(alex)
        card(alex, joint_title).get_by_role("button", name="We did it").click()
        card(alex, joint_title).get_by_text("Waiting for Sam to confirm").wait_for()
        week(sam)
        card(sam, joint_title).get_by_role("button", name="Yes, we did it").click()
        card(sam, joint_title).get_by_text("1 of 3 done").wait_for()

        # Alex logs another; Sam says it didn't happen, and why.
        week(alex)
        card(alex, joint_title).get_by_text("1 of 3 done").wait_for()
        card(alex, joint_title).get_by_role("button", name="We did it").click()
        card(alex, joint_title).get_by_text("Waiting for Sam to confirm").wait_for()
        week(sam)
        mine = card(sam, joint_title)
        mine.get_by_role("button", name="It didn't happen").click()
        reason = mine.get_by_label("What happened? (optional)")
        expect(reason).to_be_focused()
        reason.fill("We started, then stopped: it was too soon after the argument.")
        shot(sam, "dispute-reason")
        mine.get_by_role("button", name="Send").click()
        mine.get_by_text("You said the session Alex logged").wait_for()
        mine.get_by_text("too soon after the argument").wait_for()
        heading(sam, "This week")

        # The server holds it, and the partners and the therapist read it.
        disputed = [
            s
            for s in plan_of(world.partner_a, world.couple_id)["items"][0]["sessions"]
            if s["status"] == "disputed"
        ]
        assert len(disputed) == 1 and disputed[0]["disputed_by"] == world.partner_b.id
        assert disputed[0]["dispute_reason"].startswith("We started, then stopped")

        week(alex)
        said = card(alex, joint_title)
        said.get_by_text("Sam said the session you logged").wait_for()
        said.get_by_text("too soon after the argument").wait_for()
        expect(said.get_by_text("Waiting for Sam")).to_have_count(0)
        shot(alex, "dispute-seen-by-logger")
        # The week kept for offline use holds that it was disputed, never the words.
        wait_for_worker(alex)
        week(alex)
        said.get_by_text("too soon after the argument").wait_for()
        offline_copy = alex.evaluate(
            """async () => {
              const cache = await caches.open('tandem-plan-v1');
              const texts = [];
              for (const key of await cache.keys()) {
                texts.push(await (await cache.match(key)).text());
              }
              return texts.join('\\n');
            }"""
        )
        assert '"status":"disputed"' in offline_copy
        assert "too soon after the argument" not in offline_copy

        therapist.goto(f"/#/couple/{world.couple_id}")
        heading(therapist, "The Couple")
        section = therapist.locator(
            "section", has=therapist.get_by_role("heading", name=re.compile("disputed"))
        )
        section.get_by_text("said it didn't happen").wait_for()
        section.get_by_text("too soon after the argument").wait_for()
        section.scroll_into_view_if_needed()
        shot(therapist, "therapist-couple-dispute")

        # Each partner's own count on an exercise for both: "You: 2 of 7 · Sam: 1 of 7".
        for _ in range(2):
            card(alex, solo_title).get_by_role("button", name="I did it").click()
            alex.wait_for_load_state("networkidle")
        card(alex, solo_title).get_by_text("You: 2 of 7 · Sam: 0 of 7").wait_for()
        week(sam)
        card(sam, solo_title).get_by_role("button", name="I did it").click()
        card(sam, solo_title).get_by_text("You: 1 of 7 · Alex: 2 of 7").wait_for()
        expect(sam.get_by_text("of 14")).to_have_count(0)
        solo = plan_of(world.partner_a, world.couple_id)["items"][1]["progress"]
        assert {p["user_id"]: p["done"] for p in solo["by_partner"]} == {
            world.partner_a.id: 2,
            world.partner_b.id: 1,
        }
        shot(sam, "week-per-partner")


class TestAnsweringFromANotification:
    def test_the_confirm_link_asks_what_happened_too(self, world: World, new_context) -> None:  # noqa: ANN001
        joint = plan_of(world.partner_a, world.couple_id)["items"][0]
        logged = world.partner_a.post(
            f"/api/plan-items/{joint['id']}/sessions", json={"client_id": str(uuid.uuid4())}
        ).json()
        sam = new_context().new_page()
        sign_in(sam, world.partner_b.email)
        sam.goto(f"/#/sessions/{logged['id']}")  # what the notification's Confirm opens
        heading(sam, "Confirm a session")
        sam.get_by_text(f"Alex logged “{joint['title']}” together with you on").wait_for()
        sam.get_by_role("button", name="It didn't happen").click()
        sam.get_by_label("What happened? (optional)").fill("Only half of it.")
        sam.get_by_role("button", name="Send").click()
        heading(sam, "This week")
        sam.get_by_text("Only half of it.").wait_for()
        (answered,) = plan_of(world.partner_b, world.couple_id)["items"][0]["sessions"]
        assert answered["status"] == "disputed" and answered["dispute_reason"] == "Only half of it."


class TestCheckins:
    def test_ratings_only_text_only_and_twice_in_a_row(self, world: World, new_context) -> None:  # noqa: ANN001
        alex, sam = new_context().new_page(), new_context().new_page()
        sign_in(alex, world.partner_a.email)
        alex.goto("/#/checkin")
        heading(alex, "Check-in")
        alex.get_by_label("Closeness (0–10)").select_option("7")
        alex.get_by_label("Comfort (0–10)").select_option("5")
        alex.get_by_role("button", name="Save check-in").click()
        history = alex.locator("section", has=alex.get_by_role("heading", name="Recent check-ins"))
        history.get_by_text("Closeness 7 · Comfort 5").wait_for()
        # The form is back to its start: nothing typed, "Only me" chosen, ready again.
        expect(alex.get_by_label("Closeness (0–10)")).to_have_value("")
        expect(alex.get_by_role("radio", name=re.compile("Only me"))).to_be_checked()

        alex.get_by_label("Anything else").fill("Felt closer than last week.")
        alex.get_by_label(re.compile("My partner and my therapist")).check()
        alex.get_by_role("button", name="Save check-in").click()
        history.get_by_text("Felt closer than last week.").wait_for()
        expect(alex.get_by_role("radio", name=re.compile("Only me"))).to_be_checked()
        alex.get_by_label("What got in the way?").fill("Tired after work.")
        alex.get_by_role("button", name="Save check-in").click()
        history.get_by_text("Tired after work.").wait_for()
        expect(history.locator("article")).to_have_count(3)
        heading(alex, "Check-in")
        shot(alex, "checkin-saved")

        # An empty form says what to do, and sends nothing.
        alex.get_by_role("button", name="Save check-in").click()
        alex.get_by_text("Add a rating, what got in the way, or a few words").wait_for()

        mine = world.partner_a.get(f"/api/couples/{world.couple_id}/checkins").json()
        assert len(mine) == 3
        ratings_only = [c for c in mine if c["ratings"].get("closeness") == 7][0]
        assert ratings_only["text"] is None and ratings_only["obstacles"] is None
        assert ratings_only["visibility"] == "private"
        shared = [c for c in mine if c["text"] == "Felt closer than last week."][0]
        assert shared["visibility"] == "care_team"

        # Sam reads the one shared with them, rendered (not "[object HTMLElement]").
        sign_in(sam, world.partner_b.email)
        sam.goto("/#/checkin")
        heading(sam, "Check-in")
        sam.get_by_text("Felt closer than last week.").wait_for()
        sam.get_by_text(re.compile("^Alex · ")).first.wait_for()
        assert "Tired after work." not in sam.content()


class TestNotes:
    def test_a_note_in_every_visibility_reaches_exactly_its_readers(
        self, world: World, new_context
    ) -> None:  # noqa: ANN001
        alex, sam, therapist = (new_context().new_page() for _ in range(3))
        sign_in(alex, world.partner_a.email)
        marks = {}
        for label, visibility in [
            ("Only me", "private"),
            ("Me and my partner", "partner"),
            ("Me and my therapist", "therapist"),
            ("My partner and my therapist", "care_team"),
        ]:
            alex.goto("/#/notes/shared" if visibility != "private" else "/#/notes/private")
            heading(alex, "Notes")
            text = f"NOTE-{visibility}-{uuid.uuid4().hex[:6]}"
            marks[visibility] = text
            alex.get_by_label("New note").fill(text)
            alex.get_by_role("radio", name=re.compile(label)).check()
            alex.get_by_role("button", name="Save note").click()
            alex.get_by_text(text).wait_for()
        sign_in(sam, world.partner_b.email)
        sam.goto("/#/notes/shared")
        heading(sam, "Notes")
        sam.get_by_text(marks["care_team"]).wait_for()
        sign_in(therapist, world.therapist.email)
        therapist.goto(f"/#/couple/{world.couple_id}")
        heading(therapist, "The Couple")
        therapist.get_by_text(marks["care_team"]).wait_for()
        readers = {
            "sam": (sam.content(), {"partner", "care_team"}),
            "therapist": (therapist.content(), {"therapist", "care_team"}),
        }
        for who, (content, allowed) in readers.items():
            for visibility, text in marks.items():
                assert (text in content) == (visibility in allowed), (who, visibility)
        by_api = {
            n["body"]: n["visibility"]
            for n in world.partner_b.get(f"/api/couples/{world.couple_id}/notes").json()
        }
        assert set(by_api.values()) == {"partner", "care_team"}


class TestLeaving:
    def test_the_other_partner_and_the_therapist_see_that_sam_left(
        self, app: FastAPI, world: World, new_context
    ) -> None:  # noqa: ANN001
        alex, sam, therapist = (new_context().new_page() for _ in range(3))
        for page, actor in (
            (alex, world.partner_a),
            (sam, world.partner_b),
            (therapist, world.therapist),
        ):
            sign_in(page, actor.email)
        joint_title = plan_of(world.partner_a, world.couple_id)["items"][0]["title"]
        week(alex)
        card(alex, joint_title).get_by_role("button", name="We did it").click()
        card(alex, joint_title).get_by_text("Waiting for Sam to confirm").wait_for()

        sam.goto("/#/settings")
        heading(sam, "Settings")
        sam.get_by_role("button", name="Leave this couple").click()
        sam.get_by_role("dialog").get_by_role("button", name="Leave").click()
        heading(sam, "Join with a code")

        week(alex)
        alex.get_by_role("heading", name="Sam left the couple").wait_for()
        mine = card(alex, joint_title)
        mine.get_by_text("Sam left the couple before confirming it").wait_for()
        expect(alex.get_by_text("Waiting for Sam")).to_have_count(0)
        mine.get_by_text("This one is for two").wait_for()
        expect(mine.get_by_role("button", name="We did it")).to_have_count(0)
        alex.get_by_role("link", name="Invite a partner").wait_for()
        heading(alex, "This week")
        shot(alex, "week-partner-left")

        therapist.goto(f"/#/couple/{world.couple_id}")
        heading(therapist, "The Couple")
        therapist.get_by_text(re.compile("Sam left the couple on")).wait_for()
        therapist.get_by_text(re.compile("closed because the other partner left")).wait_for()

        # The server: the log closed with its reason, and one discreet notification each.
        (closed,) = plan_of(world.partner_a, world.couple_id)["items"][0]["sessions"]
        assert closed["status"] == "withdrawn" and closed["withdrawn_reason"] == "partner_left"
        with app.state.engine.connect() as connection:
            told = connection.execute(
                select(Notification.user_id, Notification.payload).where(
                    Notification.kind == "partner_left",
                    Notification.payload["couple_id"].as_string() == world.couple_id,
                )
            ).all()
        assert sorted(str(u) for u, _ in told) == sorted([world.partner_a.id, world.therapist.id])

    def test_who_left_still_reads_their_private_notes(self, world: World, new_context) -> None:  # noqa: ANN001
        couple = world.couple_id
        kept = {"body": "Only mine, still here after leaving", "visibility": "private"}
        assert world.partner_b.post(f"/api/couples/{couple}/notes", json=kept).status_code == 201
        assert world.partner_b.post(f"/api/couples/{couple}/leave").status_code in (200, 204)
        sam = new_context().new_page()
        sign_in(sam, world.partner_b.email)
        heading(sam, "Join with a code")
        # No couple: no form to write in, and nothing but the note (the screen once said "null").
        sam.goto("/#/notes/private")
        heading(sam, "Notes")
        sam.get_by_text(kept["body"]).wait_for()
        expect(sam.get_by_role("button", name="Save note")).to_have_count(0)
        shot(sam, "notes-after-leaving")
        mine = world.partner_b.get("/api/me/notes").json()
        assert [(n["body"], n["visibility"]) for n in mine] == [(kept["body"], "private")]


class TestTherapyAlone:
    def test_a_couple_of_one_plans_alone_and_hears_you_not_you_two(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        therapist = new_context().new_page()
        therapist_email = email("solo-therapist")
        sign_up(therapist, name="Dr Rivera", address=therapist_email, therapist=True)
        heading(therapist, "Couples")
        therapist.get_by_label("Label").fill("Robin alone")
        therapist.get_by_role("button", name="Create couple").click()
        heading(therapist, "Robin alone")
        therapist.get_by_role("button", name="Invite a partner").click()
        code = therapist.get_by_test_id("invitation-code").inner_text().strip()
        robin = new_context().new_page()
        robin_email = email("robin")
        sign_up(robin, name="Robin", address=robin_email, code=code)
        heading(robin, "This week")

        therapist.reload()
        heading(therapist, "Robin alone")
        therapist.get_by_role("link", name="This week’s plan").click()
        heading(therapist, re.compile("Plan for"))
        picker = therapist.get_by_label("From the library")
        picker.select_option(JOINT)  # a joint exercise by default
        therapist.get_by_role("button", name="Add to the plan").click()
        mode = therapist.get_by_label("Mode")
        expect(mode.locator("option")).to_have_count(1)
        expect(mode).to_have_value("individual")
        therapist.get_by_text("this couple has one partner").first.wait_for()
        shot(therapist, "plan-editor-one-partner")
        therapist.get_by_role("button", name="Publish").click()
        heading(therapist, "Robin alone")

        robin.reload()
        heading(robin, "This week")
        robin.get_by_role("heading", name="Just you, for now").wait_for()
        robin.get_by_role("link", name="Invite a partner").wait_for()
        robin.get_by_role("button", name="I did it").click()
        robin.get_by_text("1 of").first.wait_for()
        shot(robin, "week-one-partner")
        robin.goto("/#/checkin")
        heading(robin, "Check-in")
        expect(robin.get_by_role("radio")).to_have_count(2)
        robin.get_by_text("Your therapist can read this.", exact=True).wait_for()
        expect(robin.get_by_text("partner")).to_have_count(0)
        robin.goto("/#/notes/private")
        heading(robin, "Notes")
        robin.get_by_text("Only you can read these, not even your therapist.").wait_for()

        # The server agrees: one partner, an individual item done once, joint refused.
        client = api_login(app, therapist_email)
        couple_id = client.get("/api/couples").json()[0]["id"]
        plan = client.get(f"/api/couples/{couple_id}/plans/current").json()
        assert [i["mode"] for i in plan["items"]] == ["individual"]
        assert plan["items"][0]["progress"]["done"] == 1
        refused = client.put(
            f"/api/couples/{couple_id}/plans/{plan['week_start']}",
            json={"items": [item(JOINT, "joint", 1)]},
        )
        assert refused.status_code == 422
