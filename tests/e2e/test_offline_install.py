"""Offline: the shell and this week's plan open without network, a session logged offline
reaches the server exactly once. Installability: manifest and a controlling service worker."""

import struct

import pytest
from fastapi import FastAPI

from tests.e2e.steps import heading, sign_in, wait_for_worker, wait_until
from tests.factories import make_world, publish_plan

pytestmark = pytest.mark.browser


class TestOffline:
    def test_week_opens_offline_and_a_session_logged_offline_arrives_once(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        world = make_world(app)
        item_id = publish_plan(app, world)
        context = new_context()
        page = context.new_page()
        sign_in(page, world.partner_a.email)
        heading(page, "This week")
        wait_for_worker(page)
        page.goto("/#/week")
        page.locator("article.item").first.wait_for()  # fetched through the worker: cached
        wait_until(
            page,
            "caches.open('tandem-plan-v1').then(c => c.keys())"
            ".then(keys => keys.some(k => k.url.endsWith('/plans/current')))",
        )

        context.set_offline(True)
        page.reload()
        heading(page, "This week")
        card = page.locator("article.item").first
        card.wait_for()
        card.get_by_role("button", name="We did it").click()
        page.get_by_text("waiting to be sent").first.wait_for()
        # Nothing reached the server yet.
        sessions = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert sessions["items"][0]["sessions"] == []

        context.set_offline(False)
        page.get_by_text("Waiting for Sam to confirm").wait_for()
        page.reload()
        heading(page, "This week")
        page.get_by_text("Waiting for Sam to confirm").wait_for()
        page.wait_for_load_state("networkidle")
        plan = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/current").json()
        logs = [s for s in plan["items"][0]["sessions"] if s["plan_item_id"] == item_id]
        assert len(logs) == 1
        assert logs[0]["status"] == "awaiting_partner"
        assert (
            page.evaluate(
                "new Promise(r => { const q = indexedDB.open('tandem'); q.onsuccess = () => {"
                " const t = q.result.transaction('queue').objectStore('queue').count();"
                " t.onsuccess = () => r(t.result); }; })"
            )
            == 0
        )

    def test_notes_need_the_network_and_keep_the_draft(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        context = new_context()
        page = context.new_page()
        sign_in(page, world.partner_a.email)
        page.goto("/#/notes/private")
        heading(page, "Notes")
        context.set_offline(True)
        page.get_by_label("New note").fill("a draft written on the train")
        page.get_by_role("button", name="Save note").click()
        page.get_by_text("You're offline").wait_for()
        assert page.get_by_label("New note").input_value() == "a draft written on the train"
        context.set_offline(False)

    def test_sign_out_clears_caches_storage_and_the_plan(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        world = make_world(app)
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        wait_for_worker(page)
        page.goto("/#/settings")
        heading(page, "Settings")
        page.get_by_role("button", name="Sign out", exact=True).click()
        heading(page, "Welcome back")
        caches = page.evaluate("caches.keys()")
        assert all(k.startswith("tandem-shell-") for k in caches)
        assert page.evaluate("indexedDB.databases().then(d => d.map(x => x.name))") == []
        assert page.evaluate("localStorage.length") == 0


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


class TestInstallable:
    def test_manifest_icons_and_a_controlling_service_worker(self, new_context) -> None:  # noqa: ANN001
        page = new_context().new_page()
        page.goto("/")
        heading(page, "Welcome back")
        href = page.get_attribute("link[rel=manifest]", "href")
        manifest = page.request.get(href).json()
        assert manifest["name"] == "Tandem" and manifest["short_name"] == "Tandem"
        assert manifest["display"] == "standalone"
        assert manifest["start_url"].startswith("/")
        assert manifest["theme_color"].startswith("#")
        sizes = {}
        for icon in manifest["icons"]:
            answer = page.request.get(icon["src"])
            assert answer.headers["content-type"] == "image/png"
            sizes[icon.get("purpose", "any")] = sizes.get(icon.get("purpose", "any"), []) + [
                png_size(answer.body())
            ]
        assert (192, 192) in sizes["any"] and (512, 512) in sizes["any"]
        assert (512, 512) in sizes["maskable"]
        wait_for_worker(page)
        assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
        assert page.evaluate("caches.keys()")  # the shell is precached
        # The shell opens with no network at all.
        page.context.set_offline(True)
        page.reload()
        heading(page, "Welcome back")
        page.context.set_offline(False)
