"""A new recovery code while signed in: the password again (or, without one, a fresh
sign-in), the old code ends, the new one recovers."""

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import Session

from tandem.accounts.models import AuthSession, User
from tandem.db import utcnow
from tandem.security import read_access_token
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

    def test_wrong_passwords_are_slowed_down_like_sign_ins(self, app: FastAPI) -> None:
        actor = register(app)
        statuses = [
            actor.post(NEW, json={"password": f"wrong guess {i}"}).status_code for i in range(6)
        ]
        assert 429 in statuses
        assert actor.post(NEW, json={"password": PASSWORD}).status_code == 429

    def test_without_a_password_only_a_fresh_sign_in_may(self, app: FastAPI) -> None:
        actor = register(app)
        session_id = read_access_token(actor.token, app.state.settings).session_id
        with Session(app.state.engine) as session:
            session.execute(
                update(User).where(User.email == actor.email).values(password_hash=None)
            )
            session.commit()
        assert actor.post(NEW, json={}).status_code == 200
        with Session(app.state.engine) as session:
            session.execute(
                update(AuthSession)
                .where(AuthSession.id == session_id)  # type: ignore[arg-type]
                .values(created_at=utcnow() - timedelta(minutes=6))
            )
            session.commit()
        assert actor.post(NEW, json={}).status_code == 403
