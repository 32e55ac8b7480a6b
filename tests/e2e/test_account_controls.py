"""Account controls, walked in the app as the person: the recovery code after sign-up (kept until
saved), changing the password, a new recovery code and recovering with it, the devices list,
removing the therapist, the access log and deleting the account. Each checks what the screen
says and what the server then holds."""

import os
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.e2e.steps import PASSWORD, api_login, email, heading, sign_in
from tests.factories import make_world

pytestmark = pytest.mark.browser

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)
NEW_PASSWORD = "a brand new long passphrase"
SHOTS = os.environ.get("TANDEM_SCREENSHOTS_DIR")


def shot(page, name: str) -> None:  # noqa: ANN001
    """With TANDEM_SCREENSHOTS_DIR set: the whole screen, one window-high picture at a time."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    for i in range(min(8, -(-height // size["height"]))):
        clip = {"x": 0, "y": i * size["height"], "width": size["width"], "height": size["height"]}
        page.screenshot(path=f"{SHOTS}/{name}-{i}.png", full_page=True, clip=clip)


def settings(page) -> None:  # noqa: ANN001
    page.goto("/#/settings")
    heading(page, "Settings")


def section(page, name: str):  # noqa: ANN001, ANN201
    return page.get_by_role("region", name=name)


def can_log_in(app: FastAPI, address: str, password: str) -> bool:
    client = TestClient(app, base_url="https://testserver")
    answer = client.post("/api/auth/login", json={"email": address, "password": password})
    return answer.status_code == 200


class TestRecoveryCode:
    def test_the_code_after_sign_up_survives_back_and_downloads_as_text(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        page = new_context(timezone_id="Europe/Berlin").new_page()
        address = email("newcomer")
        page.goto("/#/signin")
        page.get_by_role("link", name="Create an account").click()
        heading(page, "Create your account")
        page.get_by_label("Your name").fill("Robin")
        page.get_by_label("Email").fill(address)
        page.get_by_label("Password").fill(PASSWORD)
        expect(page.get_by_label("Your time zone")).to_have_value("Europe/Berlin")
        page.get_by_role("button", name="Create account").click()
        code = page.get_by_test_id("recovery-code")
        code.wait_for()
        shown = code.inner_text()
        shot(page, "recovery-code")

        page.go_back()  # Back (to the sign-in screen), or any other screen: the code stays
        heading(page, "Your recovery code")
        expect(page.get_by_test_id("recovery-code")).to_have_text(shown)
        page.goto("/#/settings")
        heading(page, "Your recovery code")
        expect(page.locator("#tabs")).to_be_hidden()

        with page.expect_download() as download:
            page.get_by_role("button", name="Download as text").click()
        saved = Path(download.value.path()).read_text()
        assert shown in saved and address in saved
        assert download.value.suggested_filename == "tandem-recovery-code.txt"

        page.get_by_role("button", name="I've saved it").click()
        heading(page, "Join with a code")  # a new partner's next step
        page.go_back()
        expect(page.get_by_test_id("recovery-code")).to_have_count(0)

        # The server holds that very code: it recovers the account.
        client = TestClient(app, base_url="https://testserver")
        answer = client.post(
            "/api/auth/recover",
            json={"email": address, "recovery_code": shown, "new_password": NEW_PASSWORD},
        )
        assert answer.status_code == 200

    def test_a_new_code_needs_the_password_and_then_recovers_the_account(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        settings(page)
        page.get_by_role("button", name="Make a new recovery code").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Your password").fill("not the right one at all")
        dialog.get_by_role("button", name="Make a new code").click()
        dialog.get_by_text("That password is not right.").wait_for()
        dialog.get_by_label("Your password").fill(PASSWORD)
        dialog.get_by_role("button", name="Make a new code").click()
        heading(page, "Your recovery code")
        page.get_by_text("The old one no longer works").wait_for()
        code = page.get_by_test_id("recovery-code").inner_text()
        page.go_back()
        expect(page.get_by_test_id("recovery-code")).to_have_text(code)
        page.get_by_role("button", name="I've saved it").click()
        heading(page, "Settings")

        # Signed out, the person sets a new password with the new code, in the app.
        page.get_by_role("button", name="Sign out", exact=True).click()
        heading(page, "Welcome back")
        page.get_by_role("link", name="Forgot your password?").click()
        heading(page, "Set a new password")
        page.get_by_label("Email").fill(world.partner_a.email)
        page.get_by_label("Recovery code").fill(world.partner_a.recovery_code)  # the old one
        page.get_by_label("New password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set new password").click()
        page.get_by_text("That email and recovery code do not match.").wait_for()
        page.get_by_label("Recovery code").fill(code)
        page.get_by_role("button", name="Set new password").click()
        heading(page, "Your recovery code")
        page.get_by_role("button", name="I've saved it").click()
        heading(page, "Welcome back")
        page.get_by_text("Your password is changed").wait_for()
        assert can_log_in(app, world.partner_a.email, NEW_PASSWORD)
        assert not can_log_in(app, world.partner_a.email, PASSWORD)


class TestPasswordAndDevices:
    def test_changing_the_password_then_signing_in_with_the_new_one(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        phone = new_context(user_agent=ANDROID).new_page()
        sign_in(phone, world.partner_a.email)
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        settings(page)

        devices = page.get_by_test_id("devices")
        expect(devices.locator("li")).to_have_count(3)  # the API client, the phone, this one
        expect(devices.locator("li.current")).to_contain_text("Chrome on Linux · this device")
        phone_line = devices.locator("li", has_text="Chrome on Android")
        expect(phone_line).to_contain_text(re.compile(r"last active (just now|\d+ min)"))
        shot(page, "settings-partner")

        form = section(page, "Password and recovery code")
        form.get_by_label("Current password").fill(PASSWORD)
        form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        form.get_by_label("New password again").fill(NEW_PASSWORD + " typo")
        form.get_by_role("button", name="Change password").click()
        form.get_by_text("The two new passwords are not the same.").wait_for()
        assert can_log_in(app, world.partner_a.email, PASSWORD)  # nothing was sent
        form.get_by_label("New password again").fill(NEW_PASSWORD)
        form.get_by_role("button", name="Change password").click()
        page.get_by_text("Password changed. Your other devices were signed out.").wait_for()

        # The server ended the other devices; this one is still signed in.
        page.reload()
        heading(page, "Settings")
        expect(page.get_by_test_id("devices").locator("li")).to_have_count(1)
        page.get_by_role("button", name="Sign out", exact=True).click()
        heading(page, "Welcome back")
        page.get_by_label("Email").fill(world.partner_a.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Incorrect email or password.").wait_for()
        page.get_by_label("Password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        heading(page, "This week")
        assert can_log_in(app, world.partner_a.email, NEW_PASSWORD)


class TestTheCouplesTherapist:
    def test_a_partner_removes_the_therapist_and_the_therapist_sees_it(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        therapist = new_context().new_page()
        sign_in(therapist, world.therapist.email)
        heading(therapist, "Couples")
        therapist.get_by_text("Alex & Sam").wait_for()

        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        settings(page)
        couple = section(page, "Your couple")
        expect(couple.get_by_test_id("members")).to_contain_text("Dr Rivera (therapist)")
        couple.get_by_role("button", name="Remove Dr Rivera as your therapist").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("loses access to your couple at once").wait_for()
        dialog.get_by_role("button", name="Cancel").click()
        assert world.therapist.get(f"/api/couples/{world.couple_id}").status_code == 200

        couple.get_by_role("button", name="Remove Dr Rivera as your therapist").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove therapist").click()
        page.get_by_text("Dr Rivera is no longer your therapist.").wait_for()
        couple = section(page, "Your couple")
        expect(couple.get_by_test_id("members")).not_to_contain_text("Dr Rivera")
        couple.get_by_text("You have no therapist in Tandem at the moment.").wait_for()

        therapist.reload()
        heading(therapist, "Couples")
        therapist.get_by_text("No couples yet").wait_for()
        assert world.therapist.get(f"/api/couples/{world.couple_id}").status_code == 404
        members = world.partner_b.get(f"/api/couples/{world.couple_id}").json()["members"]
        assert {m["role"] for m in members} == {"partner"}


class TestAccessLog:
    def test_a_therapists_read_is_listed_without_the_content(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        world.partner_a.post(
            f"/api/couples/{world.couple_id}/notes",
            json={"body": "CANARY for the therapist", "visibility": "therapist"},
        )
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        settings(page)
        log = page.get_by_test_id("access-log")
        log.get_by_text("Nobody has read your shared entries yet.").wait_for()

        therapist = new_context().new_page()
        sign_in(therapist, world.therapist.email)
        therapist.goto(f"/#/couple/{world.couple_id}")
        therapist.get_by_text("CANARY for the therapist").wait_for()
        therapist.goto(f"/#/couple/{world.couple_id}/brief")
        therapist.get_by_text("CANARY for the therapist").wait_for()

        page.reload()
        heading(page, "Settings")
        log = page.get_by_test_id("access-log")
        # The couple's page shows the timeline: where it was read is said, never what it said.
        expect(log.locator("li").first).to_contain_text("Dr Rivera read your shared notes")
        assert "CANARY" not in log.inner_text()
        # One read under the other, within the phone's width (it once ran sideways, in a row).
        expect(log.locator("li")).to_have_count(2)
        first, second = (log.locator("li").nth(i).bounding_box() for i in (0, 1))
        assert second["y"] >= first["y"] + first["height"] - 1
        reads = [
            e
            for e in world.partner_a.get("/api/me/access-log").json()
            if e["action"] == "journal.read_by_therapist"
        ]
        assert reads and reads[0]["actor_id"] == world.therapist.id


class TestDeletingTheAccount:
    def test_says_what_goes_and_what_stays_then_the_other_partner_keeps_theirs(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        world.partner_a.post(
            f"/api/couples/{world.couple_id}/notes",
            json={"body": "ALEX-WROTE this", "visibility": "partner"},
        )
        world.partner_b.post(
            f"/api/couples/{world.couple_id}/notes",
            json={"body": "SAM-KEEPS this", "visibility": "partner"},
        )
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        settings(page)
        page.get_by_role("button", name="Delete my account").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("every note and check-in you wrote").wait_for()
        dialog.get_by_text("Sam’s own notes and check-ins stay theirs").wait_for()
        shot(page, "delete-account-dialog")
        dialog.get_by_role("button", name="Cancel").click()
        assert can_log_in(app, world.partner_a.email, PASSWORD)

        page.get_by_role("button", name="Delete my account").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Your password").fill("not my password at all")
        dialog.get_by_role("button", name="Delete my account").click()
        dialog.get_by_text("That password is not right.").wait_for()
        assert can_log_in(app, world.partner_a.email, PASSWORD)  # nothing was deleted
        dialog.get_by_label("Your password").fill(PASSWORD)
        dialog.get_by_role("button", name="Delete my account").click()
        heading(page, "Welcome back")
        page.get_by_text("Your account has been deleted").wait_for()

        assert not can_log_in(app, world.partner_a.email, PASSWORD)
        sam = new_context().new_page()
        sign_in(sam, world.partner_b.email)
        sam.goto("/#/notes/shared")
        heading(sam, "Notes")
        sam.get_by_text("SAM-KEEPS this").wait_for()
        assert "ALEX-WROTE" not in sam.content()
        sams = api_login(app, world.partner_b.email).get("/api/me/notes").json()
        assert [n["body"] for n in sams] == ["SAM-KEEPS this"]
