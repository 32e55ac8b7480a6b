"""Deleting an account from Settings: the password again, in the dialog that says what goes,
as the server asks; a wrong one is a sentence in that dialog and deletes nothing."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.e2e.steps import PASSWORD, email, heading, sign_up

pytestmark = pytest.mark.browser


def test_a_partner_deletes_their_account_with_their_password(app: FastAPI, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    address = email("leaving")
    sign_up(page, name="Robin", address=address)
    page.goto("/#/settings")
    heading(page, "Settings")
    page.get_by_role("button", name="Delete my account").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Your password").fill("not my password at all")
    dialog.get_by_role("button", name="Delete my account").click()
    dialog.get_by_text("That password is not right.").wait_for()
    page.screenshot(path="test-results/delete-account-wrong-password.png")
    client = TestClient(app, base_url="https://testserver")
    assert (
        client.post("/api/auth/login", json={"email": address, "password": PASSWORD}).status_code
        == 200
    )

    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Delete my account").click()
    heading(page, "Welcome back")
    answer = client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert answer.status_code == 401
