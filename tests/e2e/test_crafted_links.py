"""Crafted links: a fragment that smuggles a path (#/sessions/..%2F..%2Fcouples%2F…%2Fleave)
opens "This link doesn't work" on every parameterised screen, and calls nothing."""

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page

from tests.e2e.steps import heading, shot, sign_in
from tests.factories import World, make_world

pytestmark = pytest.mark.browser

BROKEN = "This link doesn’t work"


@pytest.fixture(scope="module")
def world(app: FastAPI) -> World:
    return make_world(app)


def api_calls(page: Page) -> list[str]:
    calls: list[str] = []
    page.on("request", lambda r: calls.append(f"{r.method} {r.url}") if "/api/" in r.url else None)
    return calls


def opens_nothing(page: Page, fragments: list[str]) -> None:
    calls = api_calls(page)
    for fragment in fragments:
        calls.clear()
        page.goto(f"/{fragment}")
        heading(page, BROKEN)
        page.get_by_text("Nothing was changed.").wait_for()
        page.wait_for_load_state("networkidle")
        assert calls == [], (fragment, calls)


class TestCraftedLinks:
    def test_a_partners_screens(self, world: World, new_context) -> None:  # noqa: ANN001
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        heading(page, "This week")
        leave = f"..%2F..%2Fcouples%2F{world.couple_id}%2Fleave"
        opens_nothing(
            page,
            [
                f"#/sessions/{leave}",
                f"#/session/{leave}%3F",
                "#/sessions/..%2F..",
                f"#/sessions/{world.couple_id}%2F..%2F..%2Fme",
                "#/sessions/%E0%A4%A",  # not even decodable
                "#/exercise/..%2F..%2Fme",
                "#/exercise/%2e%2e",
                "#/notes/..%2F..%2Fme",
                "#/join/..%2F..%2Fme%2Fsessions",
                "#/guide/..%2F..",
            ],
        )
        shot(page, "broken-link")
        # The partner is where they were: nothing left, nothing signed out.
        couples = world.partner_a.get("/api/couples").json()
        assert [c["id"] for c in couples] == [world.couple_id]
        # And a genuine link still works.
        page.goto("/#/notes/shared")
        heading(page, "Notes")

    def test_a_therapists_screens(self, world: World, new_context) -> None:  # noqa: ANN001
        page = new_context().new_page()
        sign_in(page, world.therapist.email)
        heading(page, "Couples")
        couple = world.couple_id
        opens_nothing(
            page,
            [
                "#/couple/..%2F..%2Fme",
                f"#/couple/{couple}%2F..%2F..%2Fme/plan/2026-11-30",
                f"#/couple/{couple}/plan/..%2F..%2F..%2Fme",
                f"#/couple/{couple}/plan/2026-02-30",  # no such day
                f"#/couple/{couple}/plan/2026-12-01",  # a Tuesday: plans start on Mondays
                f"#/couple/..%2F..%2Fcouples%2F{couple}%2Fleave/prep",
            ],
        )
        page.goto(f"/#/couple/{couple}")
        heading(page, "The Couple")
