"""axe-core on every screen: no serious or critical violation. (The screenshots in
docs/screenshots are made by tests/e2e/test_screenshots.py.)"""

import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI

from tests.e2e.steps import heading, sign_in
from tests.factories import make_world, publish_plan

pytestmark = pytest.mark.browser

axe = Axe()


def check(page, name: str, *, dark: bool = False) -> None:  # noqa: ANN001
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)
    results = axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}{' (dark)' if dark else ''}: {bad}"


class TestAccessibility:
    @pytest.mark.parametrize("scheme", ["light", "dark"])
    def test_every_screen_passes_axe(self, app: FastAPI, new_context, scheme: str) -> None:  # noqa: ANN001
        dark = scheme == "dark"
        world = make_world(app)
        item_id = publish_plan(app, world)
        world.partner_b.post(
            f"/api/plan-items/{item_id}/sessions", json={"client_id": str(uuid.uuid4())}
        )

        visitor = new_context(color_scheme=scheme).new_page()
        for path, name, title in [
            ("/#/signin", "signin", "Welcome back"),
            ("/#/signup", "signup", "Create your account"),
            ("/#/recover", "recover", "Set a new password"),
            ("/#/join", "join", "Join with a code"),
        ]:
            visitor.goto(path)
            heading(visitor, title)
            check(visitor, name, dark=dark)

        partner = new_context(color_scheme=scheme).new_page()
        sign_in(partner, world.partner_a.email)
        exercise_id = world.therapist.get("/api/exercises").json()[0]["id"]
        screens = [
            ("/#/week", "week", "This week"),
            (f"/#/exercise/{exercise_id}", "exercise", None),
            ("/#/checkin", "checkin", "Check-in"),
            ("/#/notes/private", "notes-private", "Notes"),
            ("/#/notes/shared", "notes-shared", "Notes"),
            ("/#/invite", "invite", "Invite"),
            ("/#/settings", "settings", "Settings"),
        ]
        for path, name, title in screens:
            partner.goto(path)
            if title:
                heading(partner, title)
            else:
                partner.locator("h1").wait_for()
            check(partner, name, dark=dark)

        therapist = new_context(color_scheme=scheme).new_page()
        sign_in(therapist, world.therapist.email)
        week = publish_week_start()
        screens = [
            ("/#/couples", "therapist-couples", "Couples"),
            (f"/#/couple/{world.couple_id}", "therapist-couple", "The Couple"),
            ("/#/library", "therapist-library", "Exercises"),
            ("/#/settings", "therapist-settings", "Settings"),
            (f"/#/couple/{world.couple_id}/plan/{week}", "therapist-plan", None),
        ]
        for path, name, title in screens:
            therapist.goto(path)
            if title:
                heading(therapist, title)
            else:
                therapist.locator("h1").wait_for()
            check(therapist, name, dark=dark)


def publish_week_start() -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    return (today - timedelta(days=today.weekday())).isoformat()
