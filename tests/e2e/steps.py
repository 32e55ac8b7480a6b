"""What a person does in the app, as small functions the browser tests share."""

import os
import re
import time
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"


def sign_up(page, *, name: str, address: str, therapist: bool = False, code: str | None = None):  # noqa: ANN001, ANN201
    page.goto(f"/#/join/{code}" if code else "/#/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").first.fill(address)
    page.get_by_label("Password").first.fill(PASSWORD)
    if therapist:
        page.get_by_label("I'm a therapist").check()
    page.get_by_role("button", name="Create account").click()
    recovery = page.get_by_test_id("recovery-code")
    recovery.wait_for()
    assert len(recovery.inner_text()) >= 16
    page.get_by_role("button", name="I've saved it").click()


def sign_in(page, address: str) -> None:  # noqa: ANN001
    page.goto("/#/signin")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#tabs:not([hidden])").wait_for()


# What must never reach a person's screen: a JavaScript value printed as text, or a
# validation message written for developers (pydantic's wording) instead of a sentence.
BROKEN_TEXT = re.compile(
    r"\[object |\bundefined\b|\bNaN\b|\bnull\b|String should|Input should|Value error|"
    r"Field required|field required|should have at (least|most)|value is not a valid"
)


def screen_is_clean(page) -> None:  # noqa: ANN001
    """The page shows no broken text and nothing wider than the window."""
    seen = page.evaluate(
        """() => ({
            text: document.body ? document.body.innerText : '',
            wide: document.documentElement.scrollWidth,
            window: document.documentElement.clientWidth,
            culprits: [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
                .filter((e) => {
                    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                        if (getComputedStyle(p).overflowX !== 'visible') return false;
                    }
                    return true;
                })
                .slice(0, 3)
                .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}">`),
        })"""
    )
    broken = BROKEN_TEXT.search(seen["text"])
    assert broken is None, f"{page.url} shows {broken.group(0)!r}: {seen['text'][:2000]}"
    assert seen["wide"] <= seen["window"], (
        f"{page.url} overflows sideways: {seen['wide']} px in a {seen['window']} px window"
        f" (past its edge: {seen['culprits']})"
    )


def heading(page, text) -> None:  # noqa: ANN001
    """Waits for a screen by its heading, then checks the screen is clean."""
    page.get_by_role("heading", level=1, name=text).wait_for()
    screen_is_clean(page)


def api_login(app: FastAPI, address: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    answer = client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


def wait_for_worker(page) -> None:  # noqa: ANN001
    """The service worker is active and controls the page (a reload may be needed once)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    wait_until(page, "!!navigator.serviceWorker.controller")


def wait_until(page, expression: str, timeout_s: float = 15) -> object:  # noqa: ANN001
    """Polls a JavaScript expression (a promise is awaited) until it is truthy; returns its value.

    Not `page.wait_for_function`: its later polls evaluate the expression inside the page, which
    the app's Content-Security-Policy refuses (no 'unsafe-eval'), so only an expression already
    true at the first poll passed; and a promise it was given counted as true at once."""
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        page.wait_for_timeout(100)
    return value


def shot(page, name: str) -> None:  # noqa: ANN001
    """A full-page screenshot, when TANDEM_SHOTS names a directory (to look at a screen)."""
    if os.environ.get("TANDEM_SHOTS"):
        page.screenshot(path=f"{os.environ['TANDEM_SHOTS']}/{name}.png", full_page=True)
