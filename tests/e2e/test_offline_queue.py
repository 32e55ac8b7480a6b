"""The offline queue as people live it: a server fault keeps what was logged and sends it later,
a definite refusal is said in plain words, an expired sign-in loses nothing, the queue belongs to
the person who made it, and signing out with unsent entries asks what to do with them."""

import time
import uuid

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, Route, expect

from tandem.plans import practice_logs
from tests.e2e.steps import heading, shot, sign_in
from tests.factories import World, login, make_world
from tests.plans_support import (
    INDIVIDUAL,
    JOINT,
    item,
    published_week,
    put_plan,
    this_monday,
    today,
)

pytestmark = pytest.mark.browser

QUEUED = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes('tandem')) return null;
  return await new Promise((resolve) => {
    const open = indexedDB.open('tandem');
    open.onsuccess = () => {
      const all = open.result.transaction('queue').objectStore('queue').getAll();
      all.onsuccess = () => { resolve(all.result.map((e) => e.owner)); open.result.close(); };
    };
  });
}"""


@pytest.fixture
def world(app: FastAPI) -> World:
    world = make_world(app)
    published_week(world, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 7)])
    return world


@pytest.fixture
def failing_server(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Logging a session answers 500 (the database restarting, say) until `heal()`: both of
    the write's paths fail (in a transaction, and PostgreSQL's common case on the loop)."""

    def broken(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the database is restarting")

    class Fault:
        def start(self) -> None:
            monkeypatch.setattr(practice_logs, "log_practice_json", broken)
            monkeypatch.setattr(practice_logs, "log_steps", broken)

        def heal(self) -> None:
            monkeypatch.undo()

    return Fault()


def logs(actor, couple_id: str, index: int) -> list[dict]:  # noqa: ANN001
    plan = actor.get(f"/api/couples/{couple_id}/plans/current").json()
    return plan["items"][index]["sessions"]


def card(page: Page, index: int):  # noqa: ANN201
    return page.locator("article.item").nth(index)


def week(page: Page) -> None:
    if page.url.endswith("#/week"):
        page.reload()
    else:
        page.goto("/#/week")
    heading(page, "This week")
    page.locator("article.item").first.wait_for()


def sign_out(page: Page) -> None:
    page.goto("/#/settings")
    heading(page, "Settings")
    page.get_by_role("button", name="Sign out", exact=True).click()


class TestTheServerAsksToWait:
    @pytest.mark.parametrize("status", [503, 429])
    def test_retry_after_is_honoured_and_nothing_is_lost(
        self, world: World, new_context, status: int
    ) -> None:  # noqa: ANN001
        """The server answers a log with 503 (or 429) and Retry-After: 3. The queue keeps the
        entry, says so, sends nothing sooner (not even a second entry made meanwhile), then
        sends both, once each."""
        page = new_context(service_workers="block").new_page()
        sign_in(page, world.partner_a.email)
        week(page)
        tries: list[tuple[float, str]] = []

        def busy_once(route: Route) -> None:
            tries.append((time.monotonic(), route.request.post_data_json["client_id"]))
            if len(tries) == 1:
                route.fulfill(
                    status=status,
                    headers={"Retry-After": "3", "Content-Type": "application/json"},
                    body='{"detail": "Busy, back soon."}',
                )
            else:
                route.continue_()

        page.route("**/api/plan-items/*/sessions", busy_once)
        card(page, 1).get_by_role("button", name="I did it").click()
        card(page, 1).get_by_text("1 logged on this phone, waiting to be sent").wait_for()
        expect(page.locator("p.pending").first).to_contain_text("Tandem is busy and asked to wait")
        card(page, 1).get_by_role("button", name="I did it").click()
        card(page, 1).get_by_text("2 logged on this phone, waiting to be sent").wait_for()
        assert len(tries) == 1  # the second entry waits with the first

        card(page, 1).get_by_text("You: 2 of 7 · Sam: 0 of 7").wait_for(timeout=12000)
        expect(page.get_by_text("waiting to be sent")).to_have_count(0)
        assert len(tries) == 3, tries
        assert tries[1][0] - tries[0][0] >= 3.0, "a retry came sooner than Retry-After"
        assert tries[1][1] == tries[0][1]  # the same entry, its client_id kept
        sent = logs(world.partner_a, world.couple_id, 1)
        assert sorted(s["client_id"] for s in sent) == sorted({c for _, c in tries})
        assert page.evaluate(QUEUED) == []
        heading(page, "This week")


class TestFaults:
    def test_a_server_fault_keeps_the_entry_and_a_retry_sends_it(
        self, world: World, new_context, failing_server
    ) -> None:  # noqa: ANN001
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        week(page)
        failing_server.start()
        card(page, 1).get_by_role("button", name="I did it").click()
        card(page, 1).get_by_text("1 logged on this phone, waiting to be sent").wait_for()
        assert page.evaluate(QUEUED) == [world.partner_a.id]
        assert logs(world.partner_a, world.couple_id, 1) == []

        # The server recovers: the retry (a couple of seconds later) sends it, once.
        failing_server.heal()
        card(page, 1).get_by_text("You: 1 of 7 · Sam: 0 of 7").wait_for()
        expect(page.get_by_text("waiting to be sent")).to_have_count(0)
        assert len(logs(world.partner_a, world.couple_id, 1)) == 1
        assert page.evaluate(QUEUED) == []
        heading(page, "This week")

    def test_a_definite_refusal_is_said_in_plain_words(self, world: World, new_context) -> None:  # noqa: ANN001
        context = new_context()
        page = context.new_page()
        sign_in(page, world.partner_a.email)
        week(page)
        context.set_offline(True)
        card(page, 1).get_by_role("button", name="I did it").click()
        card(page, 1).get_by_text("waiting to be sent").wait_for()
        # Meanwhile the therapist takes that exercise out of the plan.
        kept = world.therapist.get(f"/api/couples/{world.couple_id}/plans/current").json()
        kept = kept["items"][0]
        put_plan(world, this_monday(), [{**item(JOINT, "joint", 3), "id": kept["id"]}])

        context.set_offline(False)
        alert = page.get_by_role("alert").filter(has_text="Not accepted")
        alert.wait_for()
        # The day it was logged for: today where the couple lives, which near midnight is not
        # this machine's day.
        day = today()
        expect(alert).to_contain_text("was not saved: that exercise is no longer in your plan.")
        expect(alert).to_contain_text(f"{day:%b} {day.day} on this phone")
        shot(page, "week-refused")
        heading(page, "This week")
        alert.get_by_role("button", name="OK").click()
        expect(page.get_by_text("Not accepted")).to_have_count(0)
        assert page.evaluate(QUEUED) == []
        exported = world.partner_a.get("/api/me/export").json()["session_logs"]
        assert exported == []


class TestTheQueueBelongsToItsPerson:
    def test_an_expired_sign_in_keeps_it_and_another_person_never_sends_it(
        self, world: World, new_context
    ) -> None:  # noqa: ANN001
        context = new_context()
        page = context.new_page()
        sign_in(page, world.partner_a.email)
        week(page)
        context.set_offline(True)
        card(page, 0).get_by_role("button", name="We did it").click()
        card(page, 0).get_by_text("waiting to be sent").wait_for()
        # Alex's sign-in ends elsewhere ("sign out everywhere" on another device).
        assert world.partner_a.delete("/api/me/sessions").status_code == 204
        login(world.partner_a)
        # Back online, the replay meets the ended sign-in: sign in again, nothing lost.
        context.set_offline(False)
        heading(page, "Welcome back")
        page.get_by_text(
            "Please sign in again. 1 saved entry will be sent once you have."
        ).wait_for()
        assert page.evaluate(QUEUED) == [world.partner_a.id]
        assert logs(world.partner_a, world.couple_id, 0) == []

        # Sam signs in on the same phone: Alex's entry is neither sent nor shown.
        sign_in(page, world.partner_b.email)
        week(page)
        expect(page.get_by_text("saved on this phone")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        assert logs(world.partner_b, world.couple_id, 0) == []
        sign_out(page)  # nothing of Sam's is waiting: no question asked
        heading(page, "Welcome back")
        assert page.evaluate(QUEUED) == [world.partner_a.id]

        # Alex again: it goes, once.
        sign_in(page, world.partner_a.email)
        page.get_by_text("1 saved entry was sent.").wait_for()
        (sent,) = logs(world.partner_b, world.couple_id, 0)
        assert sent["logged_by"] == world.partner_a.id and sent["status"] == "awaiting_partner"
        assert page.evaluate(QUEUED) == []

    def test_signing_out_with_unsent_entries_asks_to_keep_or_discard(
        self, world: World, new_context, failing_server
    ) -> None:  # noqa: ANN001
        page = new_context().new_page()
        sign_in(page, world.partner_a.email)
        week(page)
        failing_server.start()
        for n in (1, 2):
            card(page, 1).get_by_role("button", name="I did it").click()
            card(page, 1).get_by_text(f"{n} logged on this phone").wait_for()

        sign_out(page)
        dialog = page.get_by_role("dialog", name="Not sent yet")
        expect(dialog).to_contain_text("2 sessions or answers you saved on this phone")
        shot(page, "sign-out-unsent")
        dialog.get_by_role("button", name="Stay signed in").click()
        heading(page, "Settings")
        assert page.evaluate(QUEUED) == [world.partner_a.id] * 2

        page.get_by_role("button", name="Sign out", exact=True).click()
        page.get_by_role("dialog").get_by_role("button", name="Keep and sign out").click()
        heading(page, "Welcome back")
        assert page.evaluate(QUEUED) == [world.partner_a.id] * 2
        assert page.evaluate("localStorage.length") == 0

        failing_server.heal()
        sign_in(page, world.partner_a.email)
        page.get_by_text("2 saved entries were sent.").wait_for()
        assert len(logs(world.partner_a, world.couple_id, 1)) == 2

        failing_server.start()
        week(page)
        card(page, 1).get_by_role("button", name="I did it").click()
        card(page, 1).get_by_text("1 logged on this phone").wait_for()
        sign_out(page)
        page.get_by_role("dialog").get_by_role("button", name="Discard and sign out").click()
        heading(page, "Welcome back")
        assert page.evaluate(QUEUED) is None
        failing_server.heal()
        assert len(logs(world.partner_a, world.couple_id, 1)) == 2


class TestAnOlderQueue:
    def test_entries_queued_before_the_queue_had_owners_go_to_whoever_was_signed_in(
        self, world: World, new_context
    ) -> None:  # noqa: ANN001
        """A phone that queued a log with the previous version of the app (one queue for the
        device) keeps it for the person whose profile was saved then."""
        solo = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
        solo_id = solo["items"][1]["id"]
        page = new_context().new_page()
        page.goto("/manifest.webmanifest")  # the origin, without the app running
        page.evaluate(
            """([user, item, clientId]) => new Promise((resolve, reject) => {
              const open = indexedDB.open('tandem', 1);
              open.onupgradeneeded = () => {
                open.result.createObjectStore('queue', { keyPath: 'client_id' });
                open.result.createObjectStore('meta', { keyPath: 'key' });
              };
              open.onsuccess = () => {
                const t = open.result.transaction(['queue', 'meta'], 'readwrite');
                t.objectStore('meta').put({ key: 'profile', user: { id: user } });
                t.objectStore('queue').put({
                  client_id: clientId, kind: 'log', created_at: new Date().toISOString(),
                  url: `/api/plan-items/${item}/sessions`, body: { client_id: clientId },
                  plan_item_id: item,
                });
                t.oncomplete = () => { open.result.close(); resolve(); };
                t.onerror = () => reject(t.error);
              };
            })""",
            [world.partner_a.id, solo_id, str(uuid.uuid4())],
        )
        sign_in(page, world.partner_a.email)
        page.get_by_text("1 saved entry was sent.").wait_for()
        assert len(logs(world.partner_a, world.couple_id, 1)) == 1
