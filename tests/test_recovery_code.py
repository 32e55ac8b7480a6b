"""A new recovery code while signed in (the route and its re-authentication rules are tested in
test_credentials.py): the old code ends, the new one recovers."""

from fastapi import FastAPI

from tests.factories import PASSWORD, new_client, register

NEW = "/api/me/recovery-code"


def _recover(app: FastAPI, email: str, code: str, password: str) -> int:
    body = {"email": email, "recovery_code": code, "new_password": password}
    return new_client(app).post("/api/auth/recover", json=body).status_code


class TestANewRecoveryCode:
    def test_the_new_code_recovers_and_the_old_one_no_longer_does(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.post(NEW, json={"password": PASSWORD})
        assert answer.status_code == 200
        code = answer.json()["recovery_code"]
        assert code != actor.recovery_code
        assert _recover(app, actor.email, actor.recovery_code, "another long passphrase") == 422
        assert _recover(app, actor.email, code, "another long passphrase") == 200

    def test_a_wrong_password_is_refused_and_the_old_code_still_works(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.post(NEW, json={"password": "not my password at all"})
        assert answer.status_code == 422
        assert answer.json()["detail"] == "That password is not right."
        assert actor.post(NEW, json={}).status_code == 422
        assert _recover(app, actor.email, actor.recovery_code, "another long passphrase") == 200
