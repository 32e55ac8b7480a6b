"""The service worker's `push` handler, fed a real payload through Chromium's DevTools
protocol (the way DevTools' own "Push" button does): one notification, discreet, tagged with
the notification id, so a resend replaces it instead of stacking."""

import uuid

import pytest

from tandem.reminders import sender
from tests.e2e.devtools_push import DevToolsPush
from tests.e2e.steps import wait_for_worker

pytestmark = pytest.mark.browser

SHOWN = """async () => {
  const registration = await navigator.serviceWorker.ready;
  for (let i = 0; i < 150; i++) {
    const shown = await registration.getNotifications();
    if (shown.length) {
      return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                                actions: (n.actions || []).map((a) => a.action)}));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}"""


def test_a_push_shows_one_discreet_notification_tagged_with_its_id(new_context, server) -> None:
    context = new_context()
    context.grant_permissions(["notifications"], origin=server)
    page = context.new_page()
    page.goto("/")
    wait_for_worker(page)

    push = DevToolsPush(context, page, server)

    notification_id = uuid.uuid4()
    payload = sender.build_payload(
        notification_id=notification_id,
        kind="joint_session_logged",
        data={"session_id": str(uuid.uuid4()), "url": "/#/week"},
        discreet=True,
    ).decode()
    # The same notification delivered twice (a resend) must not stack.
    push.deliver(payload, tag=str(notification_id))
    push.send(payload)
    page.wait_for_timeout(300)

    shown = page.evaluate(SHOWN)
    assert shown == [
        {
            "title": "Tandem",
            "body": "Something is waiting for you in Tandem",
            "tag": str(notification_id),
            "actions": ["confirm", "open"],
        }
    ]
