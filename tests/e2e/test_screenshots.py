"""docs/screenshots, made by one walk through the app: every screen at 390 px (a phone) in the
light and the dark theme, and the therapist's screens at 1366 px (a laptop) in both, full page,
with a practice as it looks after five weeks (tests/e2e/screens_seed.py). Runs only with
TANDEM_SCREENSHOTS=1; nothing else writes into docs/screenshots.

    TANDEM_SCREENSHOTS=1 CI=true TANDEM_TEST_DATABASE=postgresql \\
        .venv/bin/python -m pytest -q -m browser tests/e2e/test_screenshots.py

Names: `<screen>.png` and `<screen>-dark.png` at 390 px; `desktop-<screen>.png` and
`desktop-<screen>-dark.png` at 1366 px; `readme-<name>.png`, the first screenful of the four in
the README's row. Each screen is also checked as every browser test
checks one: no broken text, nothing wider than the window.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy.engine import Engine

from tandem import demo
from tandem.core.config import Settings
from tests.e2e.screens_seed import Scene, ok, seed
from tests.e2e.steps import screen_is_clean

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.environ.get("TANDEM_SCREENSHOTS"), reason="writes docs/screenshots on request"
    ),
]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Where the couple lives: their times read as they would on their own phones.
PLACE = {"timezone_id": demo.TIMEZONE, "locale": "en-GB"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, **PLACE}
DESKTOP = {
    "viewport": {"width": 1366, "height": 900},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
    **PLACE,
}


# The README's row: these, also as the first screenful (readme-<name>.png).
README = {"week-sam.png", "notes-shared.png", "therapist-couple-dark.png", "my-goals.png"}


def shoot(page: Page, name: str, heading: str | None, *, dark: bool, desktop: bool = False) -> None:
    """Waits for the screen (its heading, the network quiet), checks it, photographs it whole."""
    if heading:
        page.get_by_role("heading", level=1, name=heading).wait_for()
    else:
        page.locator("main h1").wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)
    screen_is_clean(page)
    file = f"{'desktop-' if desktop else ''}{name}{'-dark' if dark else ''}.png"
    if file in README:
        # What the screen shows first, as a phone shows it: the README's row.
        page.screenshot(path=str(SHOTS / f"readme-{file}"))
    # The whole page in a window as tall as it: the tab bar, fixed to the window's foot on a
    # phone, is then at the foot of the picture (a full-page capture shows it mid-page).
    size = page.viewport_size
    assert size is not None
    tall = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
    page.wait_for_timeout(100)
    page.screenshot(path=str(SHOTS / file))
    page.set_viewport_size(size)


def visit(page: Page, path: str, name: str, heading: str | None, **how: bool) -> None:
    page.goto(path)
    shoot(page, name, heading, **how)


def sign_in(page: Page, email: str, password: str = demo.PASSWORD) -> None:
    page.goto("/#/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#tabs:not([hidden])").wait_for()


def priya_has_a_questionnaire(scene: Scene) -> None:
    """PHQ-9 due for Priya again (the walk answers it once per theme; the last flag cleared)."""
    couples = ok(scene.therapist.get("/api/couples"))
    couple_id = next(c["id"] for c in couples if c["label"] == "Priya & Tom")
    for flag in ok(scene.therapist.get(f"/api/couples/{couple_id}/risk-flags")):
        ok(scene.therapist.post(f"/api/risk-flags/{flag['id']}/clear"), 204)
    if ok(scene.priya.get("/api/me/measures/due")):
        return
    for made in ok(scene.therapist.get(f"/api/couples/{couple_id}/measure-assignments")):
        ok(scene.therapist.delete(f"/api/measure-assignments/{made['id']}"), 204)
    body = {"measure_key": "phq9", "respondent_ids": [scene.priya.id], "cadence": "once"}
    ok(scene.therapist.post(f"/api/couples/{couple_id}/measure-assignments", json=body), 201)


def visitor_screens(context, scene: Scene, dark: bool) -> None:  # noqa: ANN001
    page = context.new_page()
    for path, name, heading in [
        ("/#/signin", "signin", "Welcome back"),
        ("/#/signup", "signup", "Create your account"),
        ("/#/recover", "recover", "Set a new password"),
        (f"/#/join/{scene.invitation_code}", "join", "Join with a code"),
        ("/#/guide", "guide", "Guide"),
    ]:
        visit(page, path, name, heading, dark=dark)
    page.goto("/#/signup")
    page.get_by_label("Your name").fill("Robin")
    page.get_by_label("Email").first.fill(f"robin-{'dark' if dark else 'light'}@example.org")
    page.get_by_label("Password").first.fill("a long walk by the river")
    page.get_by_role("button", name="Create account").click()
    shoot(page, "recovery-code", "Your recovery code", dark=dark)


def alex_screens(context, scene: Scene, dark: bool) -> None:  # noqa: ANN001
    page = context.new_page()
    sign_in(page, demo.PARTNERS[0][0])
    exercise = ok(scene.alex.get(f"/api/couples/{scene.couple_id}/plans/current"))["items"][0]
    for path, name, heading in [
        ("/#/week", "week", "This week"),
        (f"/#/exercise/{exercise['exercise_id']}", "exercise", None),
        ("/#/checkin", "checkin", "Check-in"),
        ("/#/notes/private", "notes-private", "Notes"),
        ("/#/notes/shared", "notes-shared", "Notes"),
        ("/#/my-measures", "my-questionnaires", "My questionnaires and goals"),
        ("/#/prep", "prep", "Prepare for your appointment"),
        ("/#/therapist", "therapist-profile", "Your therapist"),
        ("/#/invite", "invite", "Invite"),
        ("/#/settings", "settings", "Settings"),
        ("/#/print/week", "print-week", "My week"),
        ("/#/print/prep", "print-prep", "My preparation"),
    ]:
        visit(page, path, name, heading, dark=dark)


def sam_screens(context, scene: Scene, dark: bool) -> None:  # noqa: ANN001
    page = context.new_page()
    sign_in(page, demo.PARTNERS[1][0])
    visit(page, "/#/week", "week-sam", "This week", dark=dark)
    visit(
        page,
        f"/#/sessions/{scene.waiting_log_id}",
        "confirm-session",
        "Confirm a session",
        dark=dark,
    )
    visit(
        page, f"/#/questionnaire/{scene.sams_due_assignment}", "questionnaire", "PHQ-4", dark=dark
    )
    visit(page, "/#/my-measures", "my-goals", "My questionnaires and goals", dark=dark)


def priya_screens(context, scene: Scene, dark: bool) -> None:  # noqa: ANN001
    priya_has_a_questionnaire(scene)
    page = context.new_page()
    sign_in(page, scene.priya.email, scene.priya.password)
    [due] = ok(scene.priya.get("/api/me/measures/due"))
    page.goto(f"/#/questionnaire/{due['assignment_id']}")
    page.get_by_role("heading", level=1, name="PHQ-9").wait_for()
    answers = ["Several days"] * 4 + ["Not at all"] * 4 + ["Several days"]
    for number, label in enumerate(answers):
        page.locator("fieldset.question").nth(number).get_by_label(label, exact=True).check()
    page.get_by_role("button", name="Send my answers").click()
    shoot(page, "safety-screen", "You don’t have to carry this alone", dark=dark)


def therapist_screens(context, scene: Scene, dark: bool, desktop: bool) -> None:  # noqa: ANN001
    page = context.new_page()
    sign_in(page, demo.THERAPIST[0])
    couple = f"/#/couple/{scene.couple_id}"
    for path, name, heading in [
        ("/#/couples", "therapist-couples", "Couples"),
        (couple, "therapist-couple", "Alex & Sam"),
        (f"{couple}/plan/{scene.week_start}", "therapist-plan", None),
        (f"{couple}/brief", "therapist-brief", "Session brief"),
        (f"{couple}/measures", "therapist-questionnaires", "Questionnaires · Alex & Sam"),
        (f"{couple}/prep", "therapist-prep", "Session preparation"),
        ("/#/measures/new", "therapist-new-questionnaire", "New questionnaire"),
        ("/#/library", "therapist-library", "Exercises"),
        ("/#/profile", "therapist-my-profile", "My profile"),
        ("/#/settings", "therapist-settings", "Settings"),
    ]:
        visit(page, path, name, heading, dark=dark, desktop=desktop)


def test_every_screen_photographed(
    app: FastAPI, engine: Engine, settings: Settings, new_context
) -> None:  # noqa: ANN001
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()  # what the walk no longer makes goes
    scene = seed(app, engine, settings)
    for scheme in ("light", "dark"):
        dark = scheme == "dark"
        phone = {**PHONE, "color_scheme": scheme}
        visitor_screens(new_context(**phone), scene, dark)
        alex_screens(new_context(**phone), scene, dark)
        sam_screens(new_context(**phone), scene, dark)
        priya_screens(new_context(**phone), scene, dark)
        therapist_screens(new_context(**phone), scene, dark, desktop=False)
        therapist_screens(new_context(**DESKTOP, color_scheme=scheme), scene, dark, desktop=True)
    # Full-page PNGs of long screens weigh megabytes; 256-colour quantisation keeps them legible
    # at a quarter of the size (Debian's pngquant, when installed).
    if shutil.which("pngquant"):
        subprocess.run(  # noqa: S603
            ["pngquant", "--quality=70-90", "--strip", "--force", "--ext", ".png"]  # noqa: S607
            + sorted(str(p) for p in SHOTS.glob("*.png")),
            check=False,
        )
