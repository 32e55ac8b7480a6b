"""Agreed practice times, the calendar feed and the nudge, walked in Chromium as the partners
use them; and "In 1 hour" / "Done" tapped on a notification made from a real push payload,
answered by the service worker alone (issue #17)."""

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.plans.models import PracticeLog
from tandem.reminders.models import Notification
from tandem.reminders.worker import Dispatcher
from tests.e2e.devtools_push import DevToolsPush
from tests.e2e.steps import heading, screen_is_clean, sign_in, wait_for_worker, wait_until
from tests.e2e.test_accessibility import check
from tests.e2e.test_push_handler import SHOWN
from tests.factories import World, make_world
from tests.plans_support import INDIVIDUAL, JOINT, item, publish, put_plan, this_monday
from tests.practice_support import agreed, rows
from tests.push_service import PushService
from tests.test_appointment_reminders import zone_where_the_hour_is
from tests.test_push_delivery import dispatch, subscribe

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screens"


def shot(page, name: str, part=None) -> None:  # noqa: ANN001
    """A phone-size picture (390 px wide) of the screen, or of one part of it, to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    (part or page).screenshot(path=str(SHOTS / f"{name}.png"))


def daytime_couple(app: FastAPI) -> tuple[World, str, dict]:
    """A couple where it is morning or midday now: hours of this day are still to come."""
    zone = zone_where_the_hour_is(6, 13)
    w = make_world(app, timezone=zone)
    put_plan(w, this_monday(zone), [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    return w, zone, publish(w, this_monday(zone))


def local_input(zone: str, hours: int) -> tuple[str, datetime]:
    """A datetime-local value `hours` from now (on a 5-minute mark), and its instant."""
    at = datetime.now(ZoneInfo(zone)) + timedelta(hours=hours)
    at = at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)
    return at.strftime("%Y-%m-%dT%H:%M"), at


def slots(actor, w: World) -> list[dict]:  # noqa: ANN001
    return actor.get(f"/api/couples/{w.couple_id}/slots").json()


def card(page, title: str):  # noqa: ANN001, ANN201
    return page.locator("article.item").filter(has=page.get_by_role("heading", name=title))


class TestAgreeingOnTimes:
    def test_propose_nudge_accept_decline_and_call_off(
        self, app: FastAPI, engine: Engine, new_context
    ) -> None:  # noqa: ANN001
        w, zone, plan = daytime_couple(app)
        joint, individual = plan["items"]

        alex = new_context(timezone_id=zone).new_page()
        sign_in(alex, w.partner_a.email)
        heading(alex, "This week")
        value, first = local_input(zone, 3)
        together = card(alex, joint["title"])
        together.get_by_label(f"Suggest a time for {joint['title']}").fill(value)
        together.get_by_role("button", name="Suggest a time").click()
        together.get_by_text("You suggested").wait_for()
        together.get_by_text("Waiting for Sam").wait_for()
        [proposed] = slots(w.partner_a, w)
        assert proposed["status"] == "proposed" and proposed["proposed_by"] == w.partner_a.id
        assert datetime.fromisoformat(proposed["starts_at"]) == first
        shot(alex, "slot-proposed", together)
        check(alex, "slot-proposed")

        # A gentle nudge; the sentence is true whether or not Sam accepts nudges.
        together.get_by_role("button", name="Nudge Sam").click()
        alex.get_by_text("If Sam's notifications allow it").wait_for()
        assert len(rows(engine, w.partner_b.id, kind="nudge")) == 1
        together.get_by_role("button", name="Nudge Sam").click()
        together.get_by_text("You already nudged your partner about this today").wait_for()
        screen_is_clean(alex)

        # Sam accepts: both see the agreed time, and both get a reminder before it.
        sam = new_context(timezone_id=zone).new_page()
        sign_in(sam, w.partner_b.email)
        heading(sam, "This week")
        theirs = card(sam, joint["title"])
        theirs.get_by_text("Alex suggests").wait_for()
        shot(sam, "slot-to-answer", theirs)
        check(sam, "slot-to-answer")
        theirs.get_by_role("button", name="Accept").click()
        theirs.get_by_text("Agreed:").wait_for()
        assert [s["status"] for s in slots(w.partner_b, w)] == ["accepted"]
        for actor in (w.partner_a, w.partner_b):
            [reminder] = rows(engine, actor.id)
            assert reminder.due_at == first - timedelta(minutes=30)

        # Sam's own time for an individual exercise is set at once.
        own_value, own = local_input(zone, 5)
        mine = card(sam, individual["title"])
        mine.get_by_label(f"Set a time for {individual['title']}").fill(own_value)
        mine.get_by_role("button", name="Set a time").click()
        mine.get_by_text("Your time:").wait_for()
        assert {(s["plan_item_id"], s["status"]) for s in slots(w.partner_b, w)} == {
            (joint["id"], "accepted"),
            (individual["id"], "accepted"),
        }

        # Sam suggests another joint time; Alex declines it; Sam sees that, Alex no longer.
        later_value, _ = local_input(zone, 6)
        theirs.get_by_label(f"Suggest a time for {joint['title']}").fill(later_value)
        theirs.get_by_role("button", name="Suggest a time").click()
        theirs.get_by_text("You suggested").wait_for()
        alex.reload()
        heading(alex, "This week")
        together.get_by_text("Sam suggests").wait_for()
        together.get_by_role("button", name="Decline").click()
        expect(together.get_by_text("Sam suggests")).to_have_count(0)
        assert sorted(s["status"] for s in slots(w.partner_a, w)) == [
            "accepted",
            "accepted",
            "declined",
        ]
        sam.reload()
        heading(sam, "This week")
        theirs.get_by_text("Alex can't make").wait_for()
        shot(sam, "slots-week", theirs)

        # Alex calls the agreed time off (after saying so twice); its reminders go.
        together.get_by_role("button", name="Call off").click()
        alex.get_by_role("dialog").get_by_role("button", name="Call off").click()
        expect(together.get_by_text("Agreed:")).to_have_count(0)
        statuses = {s["plan_item_id"] + s["status"] for s in slots(w.partner_a, w)}
        assert joint["id"] + "cancelled" in statuses
        assert rows(engine, w.partner_a.id, state="pending") == []
        [kept] = [s for s in slots(w.partner_b, w) if s["plan_item_id"] == individual["id"]]
        assert datetime.fromisoformat(kept["starts_at"]) == own
        screen_is_clean(alex)
        screen_is_clean(sam)

    def test_a_time_already_passed_is_refused_in_a_sentence(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        w, zone, plan = daytime_couple(app)
        joint = plan["items"][0]
        alex = new_context(timezone_id=zone).new_page()
        sign_in(alex, w.partner_a.email)
        heading(alex, "This week")
        together = card(alex, joint["title"])
        field = together.get_by_label(f"Suggest a time for {joint['title']}")
        # Past the input's own minimum: the form would refuse it, the server says why.
        field.evaluate("(el) => el.removeAttribute('min')")
        field.fill(local_input(zone, -2)[0])
        together.get_by_role("button", name="Suggest a time").click()
        together.get_by_text("That time has already passed").wait_for()
        expect(field).to_have_value(local_input(zone, -2)[0])
        assert slots(w.partner_a, w) == []


class TestTheCalendarInSettings:
    def test_turn_on_copy_read_it_and_turn_off(
        self, app: FastAPI, server: str, new_context
    ) -> None:  # noqa: ANN001
        w, zone, plan = daytime_couple(app)
        starts = datetime.now(ZoneInfo(zone)).replace(microsecond=0) + timedelta(hours=4)
        agreed(w.partner_a, w.partner_b, plan["items"][0]["id"], starts.replace(second=0))
        booked = w.therapist.put(
            f"/api/couples/{w.couple_id}/next-appointment",
            json={"starts_at": (starts + timedelta(days=2)).isoformat(), "note": "ROOM-9"},
        )
        assert booked.status_code == 200
        context = new_context(timezone_id=zone)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
        alex = context.new_page()
        sign_in(alex, w.partner_a.email)
        heading(alex, "This week")

        # The appointment as a one-off file.
        with alex.expect_download() as download:
            alex.get_by_role("button", name="Add to my calendar").click()
        one_off = Calendar.from_ical(Path(download.value.path()).read_bytes())
        assert [str(e["summary"]) for e in one_off.walk("VEVENT")] == ["Tandem"]

        alex.get_by_role("link", name="Settings").click()
        heading(alex, "Settings")
        calendar = alex.locator("section", has=alex.get_by_role("heading", name="Calendar"))
        calendar.get_by_role("button", name="Turn on calendar feed").click()
        link = calendar.get_by_label("Your private link")
        link.wait_for()
        url = link.input_value()
        assert url.startswith("http://localhost:8000/api/calendar/") and url.endswith(".ics")
        calendar.get_by_role("button", name="Copy link").click()
        alex.get_by_text("Link copied").wait_for()
        assert alex.evaluate("navigator.clipboard.readText()") == url
        shot(alex, "calendar-feed-on", calendar)
        check(alex, "calendar-feed-on")
        status = w.partner_a.get("/api/me/calendar-feed").json()
        assert status["enabled"] is True and status["discreet"] is True

        # A calendar app reads it (the base URL is the configured one; this server is local).
        feed_path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        answer = httpx.get(server + feed_path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(
            "text/calendar"
        )
        events = Calendar.from_ical(answer.content).walk("VEVENT")
        assert sorted(str(e["summary"]) for e in events) == ["Tandem", "Time together"]
        assert "ROOM-9" not in answer.text

        # The link is never shown again; exercise names can be turned on; then off it goes.
        alex.reload()
        heading(alex, "Settings")
        calendar.get_by_text("Calendar feed is on").wait_for()
        expect(calendar.get_by_label("Your private link")).to_have_count(0)
        assert url not in alex.content()
        calendar.get_by_label("Show exercise names in my calendar").check()
        alex.get_by_text("Your calendar will show exercise names.").wait_for()
        assert w.partner_a.get("/api/me/calendar-feed").json()["discreet"] is False
        calendar.get_by_role("button", name="Turn off calendar feed").click()
        calendar.get_by_role("button", name="Turn on calendar feed").wait_for()
        assert w.partner_a.get("/api/me/calendar-feed").json()["enabled"] is False
        assert httpx.get(server + feed_path).status_code == 404
        screen_is_clean(alex)

    def test_reminder_settings_keep_the_lead_time_and_nudges(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        w, zone, _plan = daytime_couple(app)
        sam = new_context(timezone_id=zone).new_page()
        sign_in(sam, w.partner_b.email)
        sam.goto("/#/settings")
        heading(sam, "Settings")
        sam.get_by_label("Before a time you agreed on").select_option(label="1 hour before")
        sam.get_by_label("Let my partner send me a gentle nudge").uncheck()
        sam.get_by_role("button", name="Save reminders").click()
        sam.get_by_text("Reminders saved.").wait_for()
        saved = w.partner_b.get("/api/me/reminders").json()
        assert saved["slot_lead_minutes"] == 60 and saved["nudges"] is False
        sam.reload()
        heading(sam, "Settings")
        expect(sam.get_by_label("Before a time you agreed on")).to_have_value("60")
        expect(sam.get_by_label("Let my partner send me a gentle nudge")).not_to_be_checked()
        shot(
            sam,
            "settings-reminders",
            sam.locator("section", has=sam.get_by_role("heading", name="Reminders")),
        )


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushService]:
    with PushService() as service:
        yield service


@pytest.fixture
def loopback(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(settings, "push_allowed_hosts", "127.0.0.1")
    monkeypatch.setattr(settings, "push_allow_insecure", True)
    return settings


def logs_of(engine: Engine, item_id: str) -> list[PracticeLog]:
    with Session(engine) as session:
        return list(
            session.exec(select(PracticeLog).where(PracticeLog.plan_item_id == uuid.UUID(item_id)))
        )


# A tap on one of a shown notification's actions, in the service worker: what its
# `notificationclick` listener does (close it, then handleNotificationClick). Chromium has no way
# to click a notification from a test, so the worker's own handler is run on the real one.
TAP = """async ([tag, action]) => {
  for (let i = 0; i < 150; i++) {
    const shown = await self.registration.getNotifications({ tag });
    if (shown.length) {
      shown[0].close();
      return handleNotificationClick(shown[0], action);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'not shown';
}"""


class TestActingFromTheNotification:
    def test_in_an_hour_then_done_from_real_payloads_without_the_app(
        self, app: FastAPI, engine: Engine, server: str, new_context, receiver, loopback
    ) -> None:  # noqa: ANN001
        receiver.clear()
        w, zone, plan = daytime_couple(app)
        joint = plan["items"][0]["id"]
        starts = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
        agreed(w.partner_a, w.partner_b, joint, starts)
        device = receiver.new_subscription()
        subscribe(engine, loopback, w.partner_a.id, device)
        [reminder] = rows(engine, w.partner_a.id)

        context = new_context(timezone_id=zone)
        context.grant_permissions(["notifications"], origin=server)
        page = context.new_page()
        page.goto("/")
        wait_for_worker(page)
        push = DevToolsPush(context, page, server)
        [worker] = [sw for sw in context.service_workers if sw.url.endswith("/sw.js")]

        def deliver(due: datetime) -> dict:
            """What the push service hands the browser, decrypted: the exact payload."""
            before = len(receiver.deliveries(device["endpoint"]))
            # Playwright's sync API holds this thread's event loop: the worker runs beside it.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(dispatch, Dispatcher(loopback, engine), due).result()
            deliveries = receiver.wait_for(before + 1, endpoint=device["endpoint"])
            payload = next(
                d.plaintext
                for d in deliveries[before:]
                if json.loads(d.plaintext)["kind"] == "slot"
            )
            message = json.loads(payload)
            show(message, payload)
            return message

        def show(message: dict, payload: bytes | None = None) -> None:
            if payload is None:
                payload = json.dumps(message).encode()
            push.deliver(payload.decode(), tag=message["id"])

        first = deliver(reminder.due_at)
        shown = page.evaluate(SHOWN)
        assert [n["tag"] for n in shown] == [first["id"]]
        assert shown[0]["actions"][:2] == ["done", "snooze_1h"]
        assert shown[0]["body"] == "Something is waiting for you in Tandem"

        # "In 1 hour": the worker answers with the notification's token, no app opened.
        assert worker.evaluate(TAP, [first["id"], "snooze_1h"]) == "answered"
        with Session(engine) as session:
            [again] = session.exec(
                select(Notification).where(Notification.dedupe_key == f"snooze:{first['id']}")
            ).all()
        assert len(context.pages) == 1
        # The token is spent: the API refuses it now.
        reused = httpx.post(
            f"{server}/api/reminder-actions",
            json={"token": first["action_token"], "action": "done"},
        )
        assert reused.status_code == 410

        # An hour later the reminder comes back; "Done" logs the session, waiting for Sam.
        second = deliver(again.due_at)
        assert second["id"] == str(again.id)
        assert worker.evaluate(TAP, [second["id"], "done"]) == "answered"
        [log] = logs_of(engine, joint)
        assert str(log.logged_by) == w.partner_a.id and log.status == "awaiting_partner"
        assert (
            w.partner_a.get(f"/api/couples/{w.couple_id}/plans/current").json()["items"][0][
                "progress"
            ]["awaiting_partner"]
            == 1
        )

        # The same payload once more (a resend): its spent token opens the app at the week
        # instead (here signed out, so it lands on sign-in).
        page.goto("/#/guide")
        heading(page, "Guide")
        show(second)
        assert worker.evaluate(TAP, [second["id"], "done"]) == "opened"
        wait_until(page, "location.hash === '#/signin'")
        assert len(logs_of(engine, joint)) == 1
