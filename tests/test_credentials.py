"""Passwords as typed, limits that hold under concurrency, re-authentication, refresh grace."""

import threading
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from pwdlib import PasswordHash
from sqlalchemy import func, select, update
from sqlmodel import Session

from tandem.accounts import credentials, passwords
from tandem.accounts import service as accounts
from tandem.accounts.models import RefreshToken, Role, SignIn, User
from tandem.core import db, throttle
from tests.factories import PASSWORD, Actor, login, new_client, register, unique_email

REFRESH_COOKIE = "__Secure-tandem_refresh"


def _registration(email: str, password: str, name: str = "Robin") -> dict:
    return {
        "email": email,
        "password": password,
        "display_name": name,
        "role": "partner",
        "timezone": "Europe/Berlin",
    }


class TestPasswordsAsTyped:
    def test_surrounding_spaces_are_part_of_the_password_everywhere(self, app: FastAPI) -> None:
        spaced = "  correct horse battery  "
        email = unique_email()
        client = new_client(app)
        created = client.post("/api/auth/register", json=_registration(email, spaced))
        assert created.status_code == 201, created.text
        stripped = {"email": email, "password": spaced.strip()}
        assert new_client(app).post("/api/auth/login", json=stripped).status_code == 401
        actor = Actor(client, created.json()["id"], email, "partner", "", password=spaced)
        login(actor)

        # Change, recover and delete each take the password exactly as typed.
        changed = " another long passphrase\t"
        body = {"current_password": spaced.strip(), "new_password": changed}
        assert actor.post("/api/me/password", json=body).status_code == 422
        body["current_password"] = spaced
        assert actor.post("/api/me/password", json=body).status_code == 204
        actor.password = changed
        login(actor)
        recovered = " recovered passphrase "
        answer = new_client(app).post(
            "/api/auth/recover",
            json={
                "email": email,
                "recovery_code": created.json()["recovery_code"],
                "new_password": recovered,
            },
        )
        assert answer.status_code == 200, answer.text
        actor.password = recovered
        login(actor)
        wrong = actor.request("DELETE", "/api/me", json={"password": recovered.strip()})
        assert wrong.status_code == 422
        assert actor.delete_account().status_code == 204

    def test_the_operators_cli_takes_the_password_as_typed(self, app: FastAPI) -> None:
        email, spaced = unique_email(), " operator's chosen passphrase "
        with db.write_session(app.state.engine) as session:
            accounts.create_user(
                session,
                settings=app.state.settings,
                email=email,
                password=spaced,
                display_name="Dr Cli",
                role=Role.therapist,
                timezone="UTC",
            )
        client = new_client(app)
        assert (
            client.post("/api/auth/login", json={"email": email, "password": spaced}).status_code
            == 200
        )
        reset = " the operator reset this one "
        with db.write_session(app.state.engine) as session:
            accounts.reset_password(
                session, settings=app.state.settings, email=email, password=reset
            )
        assert (
            client.post("/api/auth/login", json={"email": email, "password": reset}).status_code
            == 200
        )
        assert (
            client.post(
                "/api/auth/login", json={"email": email, "password": reset.strip()}
            ).status_code
            == 401
        )

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("password123456", passwords.EASY),
            ("qwertyuiop123", passwords.EASY),
            ("iloveyou2024", passwords.EASY),
            ("tandem123456", passwords.PERSONAL),
            ("Robin.Miller1990", passwords.PERSONAL),
            ("short one", passwords.TOO_SHORT),
        ],
    )
    def test_guessable_passwords_are_refused_with_a_plain_sentence(
        self, app: FastAPI, password: str, message: str
    ) -> None:
        email = f"robin.miller.{uuid.uuid4().hex[:6]}@example.test"
        answer = new_client(app).post(
            "/api/auth/register", json=_registration(email, password, "Robin Miller")
        )
        assert answer.status_code == 422
        assert answer.json()["detail"] == message

    def test_the_list_behind_the_rule_is_large(self) -> None:
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        assert len(FREQUENCY_LISTS["passwords"]) >= 30_000


class _CountingChecks:
    """Counts real password checks (argon2 verifications) and notes, for each, whether a
    connection or SQLite's write turn was held at that moment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engine) -> None:
        self.calls = 0
        self.held: list[str] = []
        self.lock = threading.Lock()
        real_verify, real_hash = PasswordHash.verify, PasswordHash.hash

        def watch() -> None:
            if any(gate.locked() for gate in list(db._write_gates.values())):
                self.held.append("SQLite write turn")
            if engine.pool.checkedout():
                self.held.append("a database connection")

        def verify(hasher, password, hash, *args, **kwargs):  # noqa: ANN001, ANN202
            with self.lock:
                self.calls += 1
            watch()
            threading.Event().wait(0.02)  # widen the window in which a race would show
            return real_verify(hasher, password, hash, *args, **kwargs)

        def hash_(hasher, password, *args, **kwargs):  # noqa: ANN001, ANN202
            watch()
            return real_hash(hasher, password, *args, **kwargs)

        monkeypatch.setattr(PasswordHash, "verify", verify)
        monkeypatch.setattr(PasswordHash, "hash", hash_)


def _in_parallel(count: int, call) -> list[int]:  # noqa: ANN001
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        status = call()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


class TestLimitsUnderConcurrency:
    def test_forty_parallel_wrong_logins_check_at_most_the_allowed_number(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        actor = register(app)
        checks = _CountingChecks(monkeypatch, app.state.engine)
        body = {"email": actor.email, "password": "wrong password!"}
        # Forty devices, forty addresses: the account's own limit is what must hold.
        clients = [new_client(app) for _ in range(40)]
        statuses = _in_parallel(
            40, lambda: clients.pop().post("/api/auth/login", json=body).status_code
        )
        assert checks.calls <= throttle.ACCOUNT.free, statuses
        assert statuses.count(401) == checks.calls and statuses.count(429) == 40 - checks.calls

    def test_parallel_wrong_current_passwords_are_limited_the_same_way(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        actor = register(app)
        checks = _CountingChecks(monkeypatch, app.state.engine)
        body = {"current_password": "a wrong guess here", "new_password": "a brand new passphrase"}
        statuses = _in_parallel(12, lambda: actor.post("/api/me/password", json=body).status_code)
        assert checks.calls <= throttle.ACCOUNT.free, statuses
        assert 429 in statuses

    def test_no_password_is_hashed_or_checked_while_holding_the_database(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        checks = _CountingChecks(monkeypatch, app.state.engine)
        actor = register(app)  # sign-up and sign-in
        body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
        assert actor.post("/api/me/password", json=body).status_code == 204
        actor.password = "a brand new passphrase"
        assert (
            actor.post("/api/me/recovery-code", json={"password": actor.password}).status_code
            == 200
        )
        assert actor.delete_account().status_code == 204
        assert checks.calls >= 4
        assert checks.held == []


class TestAddressLimits:
    def test_a_locked_account_does_not_lock_out_others_behind_the_same_address(
        self, app: FastAPI
    ) -> None:
        clinic = new_client(app)  # one address, as behind a NAT
        victim, colleague = register(app), register(app)
        wrong = {"email": victim.email, "password": "wrong password!"}
        statuses = [clinic.post("/api/auth/login", json=wrong).status_code for _ in range(10)]
        assert statuses[-1] == 429
        right = {"email": colleague.email, "password": PASSWORD}
        assert clinic.post("/api/auth/login", json=right).status_code == 200

    def test_guessing_across_accounts_from_one_address_is_only_slowed(self, app: FastAPI) -> None:
        client = new_client(app)
        answers = [
            client.post(
                "/api/auth/login", json={"email": unique_email(), "password": "wrong password!"}
            )
            for _ in range(12)
        ]
        statuses = [a.status_code for a in answers]
        assert statuses[: throttle.ADDRESS.free] == [401] * throttle.ADDRESS.free
        assert statuses[-1] == 429
        assert 1 <= int(answers[-1].headers["retry-after"]) <= throttle.ADDRESS.max_delay

    def test_sign_ups_are_limited_per_address(self, app: FastAPI) -> None:
        client = new_client(app)
        answers = [
            client.post("/api/auth/register", json=_registration(unique_email(), PASSWORD))
            for _ in range(throttle.SIGNUP.free + 2)
        ]
        statuses = [a.status_code for a in answers]
        assert statuses[: throttle.SIGNUP.free] == [201] * throttle.SIGNUP.free
        assert statuses[-1] == 429 and "retry-after" in answers[-1].headers
        elsewhere = new_client(app).post(
            "/api/auth/register", json=_registration(unique_email(), PASSWORD)
        )
        assert elsewhere.status_code == 201


def _sso_account(app: FastAPI, *, signed_in_ago: timedelta) -> Actor:
    """An account without a password (as single sign-on makes), signed in `signed_in_ago`."""
    with db.write_session(app.state.engine) as session:
        user = User(
            email=unique_email("sso"),
            display_name="Dr Sso",
            role=Role.therapist,
            timezone="UTC",
            sso_subject=f"https://idp.example#{uuid.uuid4()}",
        )
        session.add(user)
        session.commit()
        tokens = accounts.start_sign_in(
            session, settings=app.state.settings, user=user, device=None
        )
        session.execute(
            update(SignIn)
            .where(SignIn.id == tokens.sign_in_id)
            .values(created_at=db.utcnow() - signed_in_ago)
        )
        session.commit()
    return Actor(new_client(app), str(user.id), user.email, "therapist", tokens.access_token)


class TestReauthentication:
    def test_deleting_the_account_needs_the_password(self, app: FastAPI) -> None:
        actor = register(app)
        missing = actor.request("DELETE", "/api/me")
        assert missing.status_code == 422
        assert missing.json()["detail"] == credentials.NEED_PASSWORD
        wrong = actor.request("DELETE", "/api/me", json={"password": "not the password"})
        assert wrong.status_code == 422
        assert wrong.json()["detail"] == credentials.WRONG_PASSWORD
        assert actor.get("/api/me").status_code == 200
        assert actor.delete_account().status_code == 204
        assert actor.get("/api/me").status_code == 401

    def test_wrong_passwords_for_deletion_are_throttled(self, app: FastAPI) -> None:
        actor = register(app)
        statuses = [
            actor.request("DELETE", "/api/me", json={"password": "not the password"}).status_code
            for _ in range(throttle.ACCOUNT.free + 1)
        ]
        assert statuses[-1] == 429

    def test_an_account_without_a_password_needs_a_recent_sign_in(self, app: FastAPI) -> None:
        stale = _sso_account(app, signed_in_ago=timedelta(minutes=6))
        answer = stale.request("DELETE", "/api/me")
        assert answer.status_code == 403
        assert answer.json()["detail"] == credentials.SIGN_IN_AGAIN
        fresh = _sso_account(app, signed_in_ago=timedelta(minutes=1))
        assert fresh.request("DELETE", "/api/me").status_code == 204

    def test_a_new_recovery_code_needs_the_password_and_replaces_the_old(
        self, app: FastAPI
    ) -> None:
        actor = register(app)
        wrong = actor.post("/api/me/recovery-code", json={"password": "not the password"})
        assert wrong.status_code == 422
        answer = actor.post("/api/me/recovery-code", json={"password": PASSWORD})
        assert answer.status_code == 200
        new_code = answer.json()["recovery_code"]

        def recover(code: str) -> int:
            body = {
                "email": actor.email,
                "recovery_code": code,
                "new_password": "recovered passphrase",
            }
            return new_client(app).post("/api/auth/recover", json=body).status_code

        assert recover(actor.recovery_code) == 422
        assert recover(new_code) == 200

    def test_an_account_without_a_password_has_no_recovery_code_to_renew(
        self, app: FastAPI
    ) -> None:
        actor = _sso_account(app, signed_in_ago=timedelta(minutes=1))
        assert actor.post("/api/me/recovery-code", json={}).status_code == 409


class TestRefreshGrace:
    def test_a_replay_within_the_grace_answers_the_same_successor(self, app: FastAPI) -> None:
        actor = register(app)
        old = actor.client.cookies.get(REFRESH_COOKIE)
        assert actor.client.post("/api/auth/refresh").status_code == 200
        successor = actor.client.cookies.get(REFRESH_COOKIE)
        replays = []
        for _ in range(3):
            tab = new_client(app)
            tab.cookies.set(REFRESH_COOKIE, old, domain="testserver.local", path="/api/auth")
            answer = tab.post("/api/auth/refresh")
            assert answer.status_code == 200
            replays.append(tab.cookies.get(REFRESH_COOKIE))
        assert replays == [successor] * 3
        with Session(app.state.engine) as session:
            sign_in_id = session.execute(
                select(RefreshToken.session_id).where(
                    RefreshToken.token_hash == accounts.digest(old)
                )
            ).scalar_one()
            tokens = session.execute(
                select(func.count()).where(RefreshToken.session_id == sign_in_id)
            ).scalar_one()
        assert tokens == 2  # the first and its one successor: no branch
        assert actor.client.post("/api/auth/refresh").status_code == 200
