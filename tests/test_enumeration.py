"""Guessing: which emails have an account, invitation codes, recovery codes.

With `TANDEM_OPEN_SIGNUP=false` registration checks the invitation code before the email, so
without a valid code a taken email and a free one get the same answer. Codes carry 100 bits,
and wrong guesses slow down per account and per client address, like logins.
"""

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tandem.core import security
from tandem.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, create_couple, new_client, register, unique_email


@pytest.fixture(scope="module")
def closed_app(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    settings = make_settings(
        tmp_path_factory.mktemp("closed"),
        app.state.settings.database_url,
        open_signup=False,
    )
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def _registration(email: str, **extra: str) -> dict[str, str]:
    return {
        "email": email,
        "password": PASSWORD,
        "display_name": "Probe",
        "role": "partner",
        "timezone": "UTC",
        **extra,
    }


def _same_client_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url="https://testserver", client=(address, 40000))


class TestClosedSignup:
    @pytest.mark.parametrize("code", [None, "", "AAAA-BBBB-CCCC-DDDD-EEEE", "x" * 64])
    def test_a_taken_email_without_a_valid_code_looks_like_a_free_one(
        self, app: FastAPI, closed_app: FastAPI, code: str | None
    ) -> None:
        taken = register(app).email
        answers = []
        for email in (taken, unique_email(), taken.upper()):
            extra = {"invitation_code": code} if code is not None else {}
            answer = new_client(closed_app).post(
                "/api/auth/register", json=_registration(email, **extra)
            )
            answers.append((answer.status_code, answer.json()))
        assert answers[0] == answers[1] == answers[2]
        assert answers[0][0] in (403, 422)
        assert "exists" not in str(answers[0][1])

    def test_with_a_valid_code_registration_works(self, app: FastAPI, closed_app: FastAPI) -> None:
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        code = therapist.post(f"/api/couples/{couple_id}/invitations", json={"role": "partner"})
        answer = new_client(closed_app).post(
            "/api/auth/register",
            json=_registration(unique_email(), invitation_code=code.json()["code"]),
        )
        assert answer.status_code == 201, answer.text

    def test_wrong_codes_at_registration_slow_down_per_address(self, closed_app: FastAPI) -> None:
        client = _same_client_address(closed_app, "198.51.100.20")
        statuses = [
            client.post(
                "/api/auth/register",
                json=_registration(unique_email(), invitation_code=security.new_code()),
            ).status_code
            for _ in range(10)
        ]
        assert 429 in statuses, statuses


class TestInvitationCodes:
    def test_codes_carry_at_least_80_bits(self) -> None:
        code = security.new_code()
        symbols = code.replace("-", "")
        alphabet = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
        assert set(symbols) <= set(alphabet)
        assert len(symbols) * math.log2(len(alphabet)) >= 80
        # Drawn from the whole alphabet, independently: no repeats among many.
        codes = {security.new_code() for _ in range(2000)}
        assert len(codes) == 2000
        assert set("".join(codes).replace("-", "")) == set(alphabet)

    def test_codes_are_stored_hashed_never_in_clear(self, app: FastAPI) -> None:
        from sqlmodel import Session, select

        from tandem.couples.models import Invitation

        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        created = therapist.post(f"/api/couples/{couple_id}/invitations", json={"role": "partner"})
        code = created.json()["code"]
        with Session(app.state.engine) as session:
            row = session.exec(
                select(Invitation).where(Invitation.id == uuid.UUID(created.json()["id"]))
            ).one()
        assert code not in str(row.model_dump(warnings=False))
        assert row.code_hash == security.digest(security.normalize_code(code))

    def test_guesses_from_one_address_slow_down_across_accounts(self, app: FastAPI) -> None:
        # Ten accounts, one guess each, all from one address: the address is what is counted.
        accounts = [register(app) for _ in range(10)]
        shared = _same_client_address(app, "198.51.100.30")
        statuses = [
            shared.post(
                "/api/invitations/accept",
                json={"code": security.new_code()},
                headers={"Authorization": f"Bearer {actor.token}"},
            ).status_code
            for actor in accounts
        ]
        assert statuses[0] == 404
        assert 429 in statuses, statuses
        assert "retry-after" in {
            k.lower()
            for k in shared.post(
                "/api/invitations/accept",
                json={"code": security.new_code()},
                headers={"Authorization": f"Bearer {accounts[0].token}"},
            ).headers
        }

    def test_guesses_by_one_account_slow_down_across_addresses(self, app: FastAPI) -> None:
        actor = register(app)
        statuses = [
            new_client(app)
            .post(
                "/api/invitations/accept",
                json={"code": security.new_code()},
                headers={"Authorization": f"Bearer {actor.token}"},
            )
            .status_code
            for _ in range(10)
        ]
        assert 429 in statuses, statuses


class TestRecovery:
    def _recover(self, client: TestClient, email: str) -> int:
        return client.post(
            "/api/auth/recover",
            json={
                "email": email,
                "recovery_code": security.new_code(),
                "new_password": "a brand new passphrase",
            },
        ).status_code

    def test_wrong_codes_for_one_account_get_429_from_any_address(self, app: FastAPI) -> None:
        email = register(app).email
        statuses = [self._recover(new_client(app), email) for _ in range(10)]
        assert statuses[0] == 422
        assert 429 in statuses, statuses

    def test_wrong_codes_from_one_address_get_429_across_accounts(self, app: FastAPI) -> None:
        client = _same_client_address(app, "198.51.100.40")
        statuses = [self._recover(client, unique_email()) for _ in range(10)]
        assert 429 in statuses, statuses

    def test_a_throttled_right_code_is_still_refused_until_the_wait_ends(
        self, app: FastAPI
    ) -> None:
        actor = register(app)
        client = _same_client_address(app, "198.51.100.41")
        for _ in range(10):
            if self._recover(client, actor.email) == 429:
                break
        right = client.post(
            "/api/auth/recover",
            json={
                "email": actor.email,
                "recovery_code": actor.recovery_code,
                "new_password": "a brand new passphrase",
            },
        )
        assert right.status_code == 429


class TestResidualRisk:
    def test_open_signup_reveals_taken_emails_as_documented(self, app: FastAPI) -> None:
        # The documented trade-off (docs/SECURITY.md): with open sign-up a taken email says so.
        taken = register(app).email
        answer = new_client(app).post("/api/auth/register", json=_registration(taken))
        assert answer.status_code == 409
        doc = (Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md").read_text()
        assert "TANDEM_OPEN_SIGNUP" in doc
