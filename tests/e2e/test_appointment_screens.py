"""Therapist profile, invitation preview, appointment, preparation and guide, in Chromium."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from tests.e2e.steps import heading, sign_in, wait_for_worker
from tests.e2e.test_accessibility import check
from tests.factories import create_couple, invite, make_world, register

pytestmark = pytest.mark.browser

ZONE = "Europe/Berlin"
PROFILE = {
    "display_name": "Dr Ana Rivera",
    "certifications": "AASECT certified sex therapist",
    "fees": "120 EUR per session",
    "telehealth": True,
    "session_length_minutes": 50,
}


class TestBeforeJoining:
    def test_an_invitee_judges_the_therapist_before_accepting(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        therapist = register(app, role="therapist")
        assert therapist.put("/api/me/therapist-profile", json=PROFILE).status_code == 200
        couple_id = create_couple(therapist, label="Private label")
        code = invite(therapist, couple_id)
        page = new_context().new_page()
        page.goto(f"/#/join/{code}")
        heading(page, "Join with a code")
        page.get_by_role("heading", name="About Dr Ana Rivera").wait_for()
        page.get_by_text("AASECT certified sex therapist").wait_for()
        page.get_by_text("50 minutes").wait_for()
        expect(page.get_by_text("Private label")).to_have_count(0)
        check(page, "join-preview")
        # The code was sent in a body, never in a URL.
        assert not [u for u in new_context.requests.urls if code in u and "#" not in u]
        page.get_by_role("link", name="Questions to ask before booking").click()
        page.get_by_role("heading", name="Questions to ask before booking").wait_for()


class TestAppointmentAndPreparation:
    def test_set_prepare_and_read_exactly_what_was_shared(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app, timezone=ZONE)

        # The therapist fills in the profile and sets the next appointment.
        doctor = new_context(timezone_id=ZONE).new_page()
        sign_in(doctor, world.therapist.email)
        doctor.get_by_role("link", name="Profile").click()
        heading(doctor, "My profile")
        doctor.get_by_label("Fees").fill("95 EUR")
        doctor.get_by_label("Session length (minutes)").fill("50")
        doctor.get_by_role("button", name="Save profile").click()
        doctor.get_by_text("Profile saved.").wait_for()
        check(doctor, "therapist-profile-editor")
        doctor.goto(f"/#/couple/{world.couple_id}")
        heading(doctor, "The Couple")
        when = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).replace(hour=10, minute=30)
        doctor.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
        doctor.get_by_label("Note for the couple (optional)").fill("Video call")
        doctor.get_by_role("button", name="Set appointment").click()
        doctor.get_by_text("Appointment saved").wait_for()
        check(doctor, "couple-appointment")
        seen = world.partner_a.get(f"/api/couples/{world.couple_id}/next-appointment").json()
        assert datetime.fromisoformat(seen["starts_at"]) == when.replace(second=0, microsecond=0)

        # A partner sees it beside the week, reads the profile, and prepares.
        context = new_context(timezone_id=ZONE)
        alex = context.new_page()
        sign_in(alex, world.partner_a.email)
        heading(alex, "This week")
        card = alex.locator("section.appointment")
        card.get_by_role("heading", name="Next appointment").wait_for()
        card.get_by_text("Video call").wait_for()
        card.get_by_role("link", name="About your therapist").click()
        heading(alex, "Your therapist")
        alex.get_by_text("95 EUR").wait_for()
        check(alex, "therapist-view")
        alex.goto("/#/prep")
        heading(alex, "Prepare for your appointment")
        concern = alex.get_by_role("group", name="What the concern is")
        concern.get_by_label("Your answer").fill("We avoid the subject CONCERN-7")
        expect(concern.get_by_text("Your therapist can read this.")).to_be_visible()
        meds = alex.get_by_role("group", name="Medications, supplements and remedies")
        meds.get_by_label("Your answer").fill("Something daily MEDS-PRIVATE-7")
        meds.get_by_label("Who can read it").select_option("private")
        expect(meds.get_by_text("Nobody else can read this")).to_be_visible()
        alex.get_by_role("button", name="Save preparation").click()
        alex.get_by_text("Preparation saved.").wait_for()
        check(alex, "prep-form")
        alex.reload()
        heading(alex, "Prepare for your appointment")
        expect(concern.get_by_label("Your answer")).to_have_value("We avoid the subject CONCERN-7")

        # The therapist's summary holds exactly what was shared with them.
        doctor.goto(f"/#/couple/{world.couple_id}")
        doctor.get_by_role("link", name="What the partners prepared").click()
        heading(doctor, "Session preparation")
        doctor.get_by_text("We avoid the subject CONCERN-7").wait_for()
        expect(doctor.get_by_text("MEDS-PRIVATE-7")).to_have_count(0)
        check(doctor, "prep-summary")

        # The guide, from the menu, also without network.
        alex.get_by_role("link", name="Guide").first.click()
        heading(alex, "Guide")
        alex.get_by_text("There is never any physical contact").wait_for()
        check(alex, "guide")
        wait_for_worker(alex)
        context.set_offline(True)
        alex.goto("/#/guide/doctor")
        alex.reload()
        alex.get_by_role("heading", name="When a doctor should be involved").wait_for()
        alex.get_by_text("Tandem gives no medical advice").wait_for()
        context.set_offline(False)
