"""The overview of a practice of 200 couples, in Chromium: one request, and on screen within a
budget. `TANDEM_BENCH=1 ... -s` prints the measurements recorded in docs/BENCHMARKS.md."""

import os
import statistics
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tandem.core.config import Settings
from tests.e2e.steps import api_login, heading, shot, sign_in
from tests.workspace_seed import seed_practice

pytestmark = pytest.mark.browser

COUPLES = 200
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "is_mobile": False, "has_touch": False}
# docs/BENCHMARKS.md has the measurements. Budgets: the page's own work (from the answer's
# last byte to 200 rows on screen) and the whole (from the click), with room for a busy machine.
RENDER_BUDGET_MS = 600
TOTAL_BUDGET_MS = 2500
RUNS = 5
ROWS_ON_SCREEN = """async (n) => {
    performance.clearResourceTimings();
    const t0 = performance.now();
    location.hash = '#/couples';
    await new Promise((done) => {
        const look = () => document.querySelectorAll('table.overview tbody tr').length === n
            ? requestAnimationFrame(() => done()) : requestAnimationFrame(look);
        look();
    });
    const end = performance.now();
    const api = performance.getEntriesByType('resource')
        .find((e) => e.name.includes('/api/therapist/overview'));
    return {
        total: end - t0,
        server: api.responseStart - api.requestStart,
        render: end - api.responseEnd,
    };
}"""


def report(text: str) -> None:
    if os.environ.get("TANDEM_BENCH"):
        print(text)


def test_200_couples_one_request_within_budget(
    app: FastAPI,
    settings: Settings,
    new_context,  # noqa: ANN001
) -> None:
    practice = seed_practice(app.state.engine, settings, couples=COUPLES)
    page = new_context(**DESKTOP).new_page()
    sign_in(page, practice.therapist_email)
    heading(page, "Couples")
    page.locator("tbody tr").nth(COUPLES - 1).wait_for()
    shot(page, "workspace-overview-200")

    api_calls: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and api_calls.append(r.url))
    timings = []
    for _ in range(RUNS):
        page.get_by_role("link", name="Exercises").click()
        heading(page, "Exercises")
        page.wait_for_load_state("networkidle")
        api_calls.clear()
        # Timed in the page (a predicate polled by Playwright would need eval, which the CSP
        # refuses): from the navigation to the 200th row in the document, then a frame.
        timings.append(page.evaluate(ROWS_ON_SCREEN, COUPLES))
        assert [u.split("/api/")[1] for u in api_calls] == ["therapist/overview"]

    # Sorting 200 rows (the click's handler re-orders them synchronously).
    sorted_ms = page.evaluate(
        """() => {
            const button = [...document.querySelectorAll('button.sort')]
                .find((b) => b.textContent.startsWith('Last activity'));
            const t0 = performance.now();
            button.click();
            return performance.now() - t0;
        }"""
    )

    med = {k: statistics.median(t[k] for t in timings) for k in ("total", "server", "render")}
    report(
        f"overview, {COUPLES} couples (load average {os.getloadavg()[0]:.1f}): click to rows "
        f"on screen median {med['total']:.0f} ms (server {med['server']:.0f} ms, page "
        f"{med['render']:.0f} ms); runs {[round(t['total']) for t in timings]}; "
        f"sort by last activity {sorted_ms:.0f} ms"
    )
    assert med["render"] < RENDER_BUDGET_MS, timings
    assert med["total"] < TOTAL_BUDGET_MS, timings

    # The API alone, for the record.
    client: TestClient = api_login(app, practice.therapist_email)
    client.get("/api/therapist/overview")
    api_ms = []
    for _ in range(RUNS):
        started_at = time.perf_counter()
        answer = client.get("/api/therapist/overview")
        api_ms.append((time.perf_counter() - started_at) * 1000)
        assert len(answer.json()["couples"]) == COUPLES
    api_median = statistics.median(api_ms)
    report(f"GET /api/therapist/overview, {COUPLES} couples: median {api_median:.0f} ms")
