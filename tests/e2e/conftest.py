"""Browser tests: the real app under uvicorn in a thread, driven by Debian's Chromium."""

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tandem.core.config import Settings
from tests.conftest import make_settings
from tests.e2e.steps import screen_is_clean

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
# Every browser context is a device of its own, with an address of its own (see `settings`).
_DEVICES = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    # The browser contexts all connect from 127.0.0.1; each says it is its own device with
    # X-Forwarded-For (new_context), so per-address limits such as sign-ups see people, not
    # the test machine.
    return make_settings(
        tmp_path_factory.mktemp("data"), database_url, trusted_proxies="127.0.0.1,::1"
    )


@pytest.fixture(scope="session")
def server(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    # "localhost" is a secure context, so the Secure refresh cookie and the service worker work.
    base = f"http://localhost:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("the app did not start")
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = "Debian Chromium is not installed at /usr/bin/chromium"
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@dataclass
class Requests:
    """Every URL any page of a context asked for, to prove nothing leaves the origin."""

    origin: str
    urls: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        allowed = urlparse(self.origin).netloc
        return [
            u
            for u in self.urls
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).netloc != allowed
        ]


@dataclass
class PageProblems:
    """Uncaught page errors and console errors of every page of a test's contexts: any one of
    them fails the test (a broken screen often shows nothing else)."""

    found: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # every message, shown when a test fails

    def watch(self, page) -> None:  # noqa: ANN001
        page.on("pageerror", lambda error: self.found.append(f"{page.url}: page error: {error}"))
        page.on("console", lambda message: self._console(page, message))

    def _console(self, page, message) -> None:  # noqa: ANN001
        self.console.append(f"{message.type}: {message.text}")
        # Chromium logs every non-2xx fetch as "Failed to load resource"; the app answers those
        # itself (a wrong password is a 401 by design), so they are not errors of the page.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.found.append(f"{page.url}: console error: {message.text}")


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _what_the_screens_showed(contexts: list, problems: PageProblems) -> None:  # noqa: ANN001
    """A failed step says what it waited for, not what was on screen instead: print that
    (pytest shows it with the failure), with the pages' console and whether a worker ran."""
    for context in contexts:
        for page in context.pages:
            try:
                text = page.inner_text("body", timeout=2000)
                worker = page.evaluate("!!navigator.serviceWorker?.controller")
            except Exception as error:  # noqa: BLE001 - a closed or crashed page
                text, worker = f"(unreadable: {error})", None
            print(f"--- {page.url} (controlled by a service worker: {worker})\n{text[:3000]}")
    print("--- console\n" + "\n".join(problems.console[-40:]))


@pytest.fixture
def new_context(browser, server, request: pytest.FixtureRequest):  # noqa: ANN001, ANN201
    contexts = []
    requests = Requests(server)
    problems = PageProblems()

    def make(**kwargs):  # noqa: ANN003, ANN202
        n = next(_DEVICES)
        headers = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
        headers.update(kwargs.pop("extra_http_headers", {}))
        # A phone unless the test asks for another device (a desktop: viewport, is_mobile...).
        device = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
        # Service workers on, unless a test routes requests itself (page.route never sees
        # what a service worker fetches): service_workers="block".
        context = browser.new_context(
            base_url=server,
            extra_http_headers=headers,
            **({"service_workers": "allow"} | device | kwargs),
        )
        context.on("request", lambda r: requests.urls.append(r.url))
        context.on("page", problems.watch)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context

    make.requests = requests
    make.problems = problems
    yield make
    if request.node.stash.get(_CALL_FAILED, False):
        _what_the_screens_showed(contexts, problems)
    # Whatever each page shows at the end must be as clean as every screen a step checked.
    for context in contexts:
        for page in context.pages:
            if page.url.startswith("http"):
                screen_is_clean(page)
    for context in contexts:
        context.close()
    assert requests.foreign() == [], "a request left the origin"
    assert problems.found == [], "\n".join(problems.found)
