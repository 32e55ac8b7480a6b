"""A push message handed to the app's service worker the way DevTools' own "Push" button does,
redelivered until the browser shows it.

Chromium answers `ServiceWorker.deliverPushMessage` before the push event has run and drops its
outcome (its DevTools handler binds a no-op callback), so a dispatch lost on a busy machine (the
worker still starting, or being stopped as idle) fails silently: CI once saw no notification at
all after 15 s. A real push service redelivers what the browser has not acknowledged (RFC 8030
§6.2); so does this, with the same bytes, until a notification with the expected tag is shown.
The app is judged by what it then shows: one notification, replaced rather than stacked."""

# Whether a notification with this tag is shown, polled for up to `waitMs`.
_SHOWN_WITH_TAG = """async ([tag, waitMs]) => {
  const registration = await navigator.serviceWorker.ready;
  for (let waited = 0; waited <= waitMs; waited += 100) {
    if ((await registration.getNotifications({ tag })).length) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}"""


class DevToolsPush:
    """The page's service worker registration, reached through the DevTools protocol."""

    def __init__(self, context, page, origin: str) -> None:  # noqa: ANN001
        self.page = page
        self.origin = origin
        self.cdp = context.new_cdp_session(page)
        found: list[str] = []
        self.cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: found.extend(
                r["registrationId"] for r in event["registrations"] if not r["isDeleted"]
            ),
        )
        self.cdp.send("ServiceWorker.enable")
        for _ in range(50):  # reported soon after enable: waited for, up to 5 s
            page.wait_for_timeout(100)
            if found:
                break
        assert found, "no service worker registration reported"
        self.registration = found[-1]

    def send(self, payload: str) -> None:
        """One delivery, whatever becomes of it."""
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.origin, "registrationId": self.registration, "data": payload},
        )

    def deliver(self, payload: str, tag: str, attempts: int = 3) -> None:
        """Delivered until the notification tagged `tag` is shown (5 s per attempt)."""
        for _ in range(attempts):
            self.send(payload)
            if self.page.evaluate(_SHOWN_WITH_TAG, [tag, 5000]):
                return
        permission = self.page.evaluate("Notification.permission")
        raise AssertionError(
            f"no notification tagged {tag} after {attempts} deliveries (permission: {permission})"
        )
