"""Notifications in Settings say only what is true: permission blocked, not yet asked, allowed
but not set up, on with the last delivery result, failing, or ended by the push service.

Chromium here cannot reach a real push service, so `PushManager` is replaced in the page by a
stand-in that hands out a subscription the server accepts (an FCM-shaped endpoint with real
P-256 keys). Everything past the browser is real: the app registers it, `POST /api/push/test`
queues a notification, and the worker's own bookkeeping (`outbox.finish`) records what a push
service answered. The test cannot show that a phone displayed the notification."""

import base64
import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlmodel import Session, select

from tandem.core.db import utcnow
from tandem.reminders import outbox
from tandem.reminders.models import Notification, PushSubscription
from tests.e2e.steps import heading, sign_in
from tests.factories import register

pytestmark = pytest.mark.browser


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return {"p256dh": _b64(point), "auth": _b64(secrets.token_bytes(16))}


# A PushManager that works without a push service; its subscription survives reloads (in this
# tab's sessionStorage, test only) like a real one does.
STAND_IN = """(keys) => {
  const KEY = 'stand-in-push';
  const make = (saved) => saved && {
    endpoint: saved.endpoint,
    options: { applicationServerKey: new Uint8Array(saved.serverKey).buffer },
    toJSON: () => ({ endpoint: saved.endpoint, expirationTime: null, keys }),
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; },
  };
  PushManager.prototype.getSubscription = async function () {
    return make(JSON.parse(sessionStorage.getItem(KEY) || 'null'));
  };
  PushManager.prototype.subscribe = async function (options) {
    const saved = {
      endpoint: 'https://fcm.googleapis.com/fcm/send/e2e-' + crypto.randomUUID(),
      serverKey: Array.from(new Uint8Array(options.applicationServerKey)),
    };
    sessionStorage.setItem(KEY, JSON.stringify(saved));
    return make(saved);
  };
}"""


def _status(page):  # noqa: ANN001, ANN202
    return page.get_by_test_id("notification-status")


def _section(page):  # noqa: ANN001, ANN202
    return page.get_by_role("region", name="Notifications")


def _settings(page) -> None:  # noqa: ANN001
    page.goto("/#/settings")
    heading(page, "Settings")


def _tests_queued(app: FastAPI, user_id: str) -> int:
    with Session(app.state.engine) as session:
        rows = session.exec(
            select(Notification).where(
                Notification.user_id == uuid.UUID(user_id), Notification.kind == "test"
            )
        ).all()
    return len(rows)


def _device(app: FastAPI, user_id: str) -> PushSubscription | None:
    with Session(app.state.engine) as session:
        return session.exec(
            select(PushSubscription).where(PushSubscription.user_id == uuid.UUID(user_id))
        ).first()


def _push_service_answered(app: FastAPI, device: uuid.UUID, outcome: str) -> None:
    outbox.finish(
        app.state.engine,
        token=uuid.uuid4(),
        now=utcnow(),
        outcomes=[],
        delivered_to=[device] if outcome == "delivered" else [],
        failed_subscriptions=[device] if outcome == "failed" else [],
        gone_subscriptions=[device] if outcome == "gone" else [],
    )


class TestWithoutPermission:
    def test_blocked_says_so_and_offers_no_test(self, app: FastAPI, new_context, server) -> None:  # noqa: ANN001
        actor = register(app)
        context = new_context()
        page = context.new_page()
        page.goto("/")
        target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
        browser_session = context.browser.new_browser_cdp_session()
        browser_session.send(
            "Browser.setPermission",
            {
                "permission": {"name": "notifications"},
                "setting": "denied",
                "origin": server,
                "browserContextId": target["browserContextId"],
            },
        )
        assert page.evaluate("Notification.permission") == "denied"
        sign_in(page, actor.email)
        _settings(page)
        expect(_status(page)).to_contain_text("Notifications are blocked for Tandem")
        expect(_section(page).get_by_role("button", name="Send me a test")).to_be_hidden()
        expect(_section(page).get_by_role("button")).to_have_count(0)
        assert "on for this device" not in _section(page).inner_text()
        assert _tests_queued(app, actor.id) == 0

    def test_not_yet_asked_explains_first_and_a_refusal_is_reported(
        self, app: FastAPI, new_context
    ) -> None:  # noqa: ANN001
        actor = register(app)
        page = new_context().new_page()
        sign_in(page, actor.email)
        _settings(page)
        section = _section(page)
        expect(_status(page)).to_have_text("Notifications are off on this device.")
        section.get_by_text("Tandem can remind you at the times you choose").wait_for()
        expect(section.get_by_role("button", name="Send me a test")).to_be_hidden()
        # The browser's own question is answered "no" (headless Chromium refuses it).
        section.get_by_role("button", name="Turn on notifications").click()
        section.get_by_text("Notifications are blocked. You can allow them").wait_for()
        expect(_status(page)).not_to_contain_text("on for this device")
        assert _device(app, actor.id) is None


class TestWithPermission:
    def test_without_a_push_service_the_device_is_not_called_on(
        self, app: FastAPI, new_context, server
    ) -> None:  # noqa: ANN001
        actor = register(app)
        context = new_context()
        context.grant_permissions(["notifications"], origin=server)
        page = context.new_page()
        sign_in(page, actor.email)
        _settings(page)
        expect(_status(page)).to_contain_text("not set up to receive them yet")
        _section(page).get_by_role("button", name="Set up this device").click()
        _section(page).get_by_text("could not set up notifications just now").wait_for()
        expect(_status(page)).not_to_contain_text("on for this device")
        assert _device(app, actor.id) is None
        # Chromium's own words for a browser profile without push (these test contexts): not
        # the app's error.
        new_context.problems.found[:] = [
            p for p in new_context.problems.found if "Push API in incognito mode" not in p
        ]

    def test_on_delivered_failing_gone_and_set_up_again(
        self, app: FastAPI, new_context, server
    ) -> None:  # noqa: ANN001
        actor = register(app)
        context = new_context()
        context.grant_permissions(["notifications"], origin=server)
        context.add_init_script(f"({STAND_IN})({_keys()!r})".replace("'", '"'))
        page = context.new_page()
        sign_in(page, actor.email)
        _settings(page)
        section = _section(page)
        section.get_by_role("button", name="Set up this device").click()
        expect(_status(page)).to_have_text(
            "Notifications are on for this device. Nothing has been sent to it yet: "
            "send a test to check."
        )
        device = _device(app, actor.id)
        assert device is not None and device.endpoint.startswith("https://fcm.googleapis.com/")

        section.get_by_role("button", name="Send me a test").click()
        section.get_by_text("Waiting to hear whether it reached this device").wait_for()
        assert _tests_queued(app, actor.id) == 1
        _push_service_answered(app, device.id, "delivered")
        section.get_by_text("The test reached this device’s push service").wait_for()
        expect(_status(page)).to_contain_text("The last one reached it")

        _push_service_answered(app, device.id, "failed")
        page.reload()  # the app re-registers the device at start: the failure still shows
        heading(page, "Settings")
        expect(_status(page)).to_contain_text("the last one could not be delivered")

        # The push service ends the registration while the screen is open: nothing is sent.
        _push_service_answered(app, device.id, "gone")
        section.get_by_role("button", name="Send me a test").click()
        section.get_by_text("No test was sent: this device can’t receive notifications").wait_for()
        expect(_status(page)).to_contain_text("Tandem can’t reach this device any more")
        expect(section.get_by_role("button", name="Send me a test")).to_be_hidden()
        assert _tests_queued(app, actor.id) == 1
        section.get_by_role("button", name="Set up again").click()
        expect(_status(page)).to_contain_text("Notifications are on for this device.")
        renewed = _device(app, actor.id)
        assert renewed is not None and renewed.endpoint != device.endpoint

        # Ended while the app was closed: the next start replaces it by itself.
        _push_service_answered(app, renewed.id, "gone")
        page.reload()
        heading(page, "Settings")
        expect(_status(page)).to_contain_text("Notifications are on for this device.")
        again = _device(app, actor.id)
        assert again is not None and again.endpoint not in (device.endpoint, renewed.endpoint)
