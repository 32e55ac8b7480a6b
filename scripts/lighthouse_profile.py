"""Helpers for scripts/lighthouse.sh (not a test).

`ids BASE EMAIL PASSWORD`: prints "<couple id> <this week's Monday>" of the account's first couple.
`signin BASE EMAIL PASSWORD PROFILE_DIR`: signs in through the real sign-in form in a fresh,
persistent Chromium profile, then empties the HTTP cache and removes the service worker and its
caches (so the Lighthouse run that follows loads cold, like the signed-out ones) while keeping
the refresh cookie and the "signed in before" flag, and closes the browser.
"""

import json
import sys
import urllib.request

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    # Only ever the local server the Lighthouse script started (http://localhost:PORT).
    request = urllib.request.Request(base + path, method=method)  # noqa: S310
    request.add_header("Accept", "application/json")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, data) as response:  # noqa: S310
        return json.load(response)


def ids(base: str, email: str, password: str) -> None:
    token = call(base, "POST", "/api/auth/login", {"email": email, "password": password})[
        "access_token"
    ]
    couple = call(base, "GET", "/api/couples", token=token)[0]
    plan = call(base, "GET", f"/api/couples/{couple['id']}/plans/current", token=token)
    print(couple["id"], plan["week_start"])


def browser(playwright, profile: str):
    return playwright.chromium.launch_persistent_context(
        profile,
        executable_path="/usr/bin/chromium",
        headless=True,
        args=ARGS,
        viewport={"width": 412, "height": 823},
    )


def signin(base: str, email: str, password: str, profile: str) -> None:
    with sync_playwright() as playwright:
        context = browser(playwright, profile)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{base}/#/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.locator("#tabs a.tab").first.wait_for()
        page.evaluate("navigator.serviceWorker.ready")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.clearBrowserCache")
        cdp.send(
            "Storage.clearDataForOrigin",
            {"origin": base, "storageTypes": "service_workers,cache_storage"},
        )
        page.goto("about:blank")  # not the screen Lighthouse opens next (NO_NAVSTART otherwise)
        context.close()


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    {"ids": ids, "signin": signin}[command](*rest)
