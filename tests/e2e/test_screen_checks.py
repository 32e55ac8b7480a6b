"""The checks every browser test relies on can fail: a broken screen is caught."""

import pytest

from tests.e2e.conftest import PageProblems
from tests.e2e.steps import screen_is_clean

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "shown",
    [
        "Recent: [object HTMLElement]",
        "You: undefined of 7",
        "obstacles: String should have at",
        "Plan for Nov 30 null",
    ],
)
def test_broken_text_is_caught(new_context, shown: str) -> None:  # noqa: ANN001
    page = new_context().new_page()
    page.goto("/#/signin")
    page.get_by_role("heading", level=1).wait_for()
    page.evaluate("(shown) => { document.querySelector('h1').textContent = shown; }", shown)
    with pytest.raises(AssertionError, match="shows"):
        screen_is_clean(page)
    page.close()


def test_sideways_overflow_is_caught(new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    page.goto("/#/signin")
    page.get_by_role("heading", level=1).wait_for()
    # Long words wrap (app.css), so something of a fixed width overflows instead.
    page.evaluate("document.querySelector('h1').style.width = '5000px'")
    with pytest.raises(AssertionError, match="overflows sideways"):
        screen_is_clean(page)
    page.close()


def test_page_errors_are_collected(browser, server) -> None:  # noqa: ANN001
    problems = PageProblems()
    context = browser.new_context(base_url=server)
    context.on("page", problems.watch)
    page = context.new_page()
    page.goto("/#/signin")
    page.evaluate("setTimeout(() => { throw new Error('boom'); }, 0)")
    page.evaluate("console.error('broken')")
    page.wait_for_timeout(100)
    context.close()
    assert any("boom" in p for p in problems.found)
    assert any("broken" in p for p in problems.found)
