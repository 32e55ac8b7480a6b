import time
import uuid

from fastapi import FastAPI

from tests.factories import PASSWORD, login, new_client, register, unique_email


def _register_body(**overrides: object) -> dict:
    body = {
        "email": unique_email(),
        "password": PASSWORD,
        "display_name": "Robin",
        "role": "partner",
        "timezone": "Europe/Berlin",
    }
    body.update(overrides)
    return body


class TestRegister:
    def test_answers_the_user_and_a_recovery_code_once(self, app: FastAPI) -> None:
        client = new_client(app)
        answer = client.post("/api/auth/register", json=_register_body(email="Mixed@Example.TEST"))
        assert answer.status_code == 201
        body = answer.json()
        assert set(body) == {"id", "email", "display_name", "role", "timezone", "recovery_code"}
        assert body["email"] == "mixed@example.test"
        uuid.UUID(body["id"])

    def test_taken_email_in_any_case_is_409(self, app: FastAPI) -> None:
        actor = register(app)
        answer = new_client(app).post(
            "/api/auth/register", json=_register_body(email=actor.email.upper())
        )
        assert answer.status_code == 409
        assert "already exists" in answer.json()["detail"]

    def test_short_or_common_password_is_422(self, app: FastAPI) -> None:
        client = new_client(app)
        for password in ("short", "password123", "1234567890", "aaaaaaaaaaaa"):
            answer = client.post("/api/auth/register", json=_register_body(password=password))
            assert answer.status_code == 422, password

    def test_bad_fields_are_422_and_never_echo_the_password(self, app: FastAPI) -> None:
        client = new_client(app)
        cases = [
            _register_body(role="admin"),
            _register_body(timezone="Mars/Olympus"),
            _register_body(email="not-an-email"),
            _register_body(display_name=""),
            _register_body(author_id=str(uuid.uuid4())),
            {**_register_body(), "password": 12345},
        ]
        for body in cases:
            answer = client.post("/api/auth/register", json=body)
            assert answer.status_code == 422, body
            assert PASSWORD not in answer.text

    def test_malformed_json_is_422(self, app: FastAPI) -> None:
        answer = new_client(app).post(
            "/api/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422

    def test_closed_signup_needs_an_invitation_code(self, app: FastAPI, monkeypatch) -> None:
        monkeypatch.setattr(app.state.settings, "open_signup", False)
        answer = new_client(app).post("/api/auth/register", json=_register_body())
        assert answer.status_code == 403
        bad_code = new_client(app).post(
            "/api/auth/register", json=_register_body(invitation_code="AAAA-BBBB-CCCC")
        )
        assert bad_code.status_code == 422

    def test_closed_therapist_signup_refuses_therapists(self, app: FastAPI, monkeypatch) -> None:
        monkeypatch.setattr(app.state.settings, "allow_therapist_signup", False)
        answer = new_client(app).post("/api/auth/register", json=_register_body(role="therapist"))
        assert answer.status_code == 403


class TestLogin:
    def test_unknown_email_and_wrong_password_look_the_same(self, app: FastAPI) -> None:
        actor = register(app)
        wrong = new_client(app).post(
            "/api/auth/login", json={"email": actor.email, "password": "not the password"}
        )
        unknown = new_client(app).post(
            "/api/auth/login", json={"email": unique_email(), "password": "not the password"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()

    def test_sets_a_strict_httponly_secure_refresh_cookie(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.client.post(
            "/api/auth/login", json={"email": actor.email, "password": PASSWORD}
        )
        cookie = answer.headers["set-cookie"].lower()
        for flag in ("httponly", "secure", "samesite=strict", "path=/api/auth"):
            assert flag in cookie
        body = answer.json()
        assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 900

    def test_repeated_failures_on_one_account_get_429_with_retry_after(self, app: FastAPI) -> None:
        actor = register(app)
        statuses = []
        for _ in range(10):
            # A new client address each time: the account counter alone must bite.
            answer = new_client(app).post(
                "/api/auth/login", json={"email": actor.email, "password": "wrong password!"}
            )
            statuses.append(answer.status_code)
        assert statuses[:4] == [401] * 4
        assert statuses[-1] == 429
        assert int(answer.headers["retry-after"]) >= 1

    def test_repeated_failures_from_one_address_get_429(self, app: FastAPI) -> None:
        client = new_client(app)
        statuses = [
            client.post(
                "/api/auth/login", json={"email": unique_email(), "password": "wrong password!"}
            ).status_code
            for _ in range(10)
        ]
        assert statuses[-1] == 429 and statuses[0] == 401

    def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(self, app: FastAPI) -> None:
        client = new_client(app)
        statuses = []
        for n in range(10):
            answer = client.post(
                "/api/auth/login",
                json={"email": unique_email(), "password": "wrong password!"},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            )
            statuses.append(answer.status_code)
        # Each spoofed address was ignored: the real client address was limited.
        assert statuses[-1] == 429


def _device_holding(app: FastAPI, refresh_token: str):  # noqa: ANN202
    client = new_client(app)
    # http.cookiejar files dotless hosts under "<host>.local".
    client.cookies.set(
        "__Secure-tandem_refresh", refresh_token, domain="testserver.local", path="/api/auth"
    )
    return client


class TestRefresh:
    def test_rotates_and_a_reused_token_ends_the_family(self, app: FastAPI, monkeypatch) -> None:
        monkeypatch.setattr(app.state.settings, "refresh_grace_seconds", 0)
        actor = register(app)
        old = actor.client.cookies.get("__Secure-tandem_refresh")
        first = actor.client.post("/api/auth/refresh")
        assert first.status_code == 200
        new = actor.client.cookies.get("__Secure-tandem_refresh")
        assert new and new != old
        time.sleep(1.1)
        thief = _device_holding(app, old)
        assert thief.post("/api/auth/refresh").status_code == 401
        # The whole family is gone: the rightful device is signed out too.
        assert actor.client.post("/api/auth/refresh").status_code == 401
        fresh_access = first.json()["access_token"]
        me = actor.client.get("/api/me", headers={"Authorization": f"Bearer {fresh_access}"})
        assert me.status_code == 401

    def test_two_tabs_refreshing_together_both_stay_signed_in(self, app: FastAPI) -> None:
        actor = register(app)
        old = actor.client.cookies.get("__Secure-tandem_refresh")
        other_tab = _device_holding(app, old)
        assert actor.client.post("/api/auth/refresh").status_code == 200
        assert other_tab.post("/api/auth/refresh").status_code == 200
        assert actor.client.post("/api/auth/refresh").status_code == 200


class TestLogoutAndSessions:
    def test_logout_bites_on_the_next_request(self, app: FastAPI) -> None:
        actor = register(app)
        assert actor.get("/api/me").status_code == 200
        assert actor.post("/api/auth/logout").status_code == 204
        assert actor.get("/api/me").status_code == 401
        assert actor.client.post("/api/auth/refresh").status_code == 401

    def test_sign_out_everywhere_ends_every_device(self, app: FastAPI) -> None:
        actor = register(app)
        phone_token = actor.token
        login(actor)
        listed = actor.get("/api/me/sessions").json()
        assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
        assert actor.delete("/api/me/sessions").status_code == 204
        assert actor.get("/api/me").status_code == 401
        assert (
            actor.client.get("/api/me", headers={"Authorization": f"Bearer {phone_token}"})
        ).status_code == 401

    def test_signing_out_one_device(self, app: FastAPI) -> None:
        actor = register(app)
        laptop_token = actor.token
        login(actor)
        other = next(s for s in actor.get("/api/me/sessions").json() if not s["current"])
        assert actor.delete(f"/api/me/sessions/{other['id']}").status_code == 204
        assert actor.get("/api/me").status_code == 200
        assert (
            actor.client.get("/api/me", headers={"Authorization": f"Bearer {laptop_token}"})
        ).status_code == 401
        assert actor.delete("/api/me/sessions/not-a-uuid").status_code == 404


class TestPasswords:
    def test_change_revokes_other_sessions(self, app: FastAPI) -> None:
        actor = register(app)
        old_token = actor.token
        login(actor)
        answer = actor.post(
            "/api/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        )
        assert answer.status_code == 204
        assert actor.get("/api/me").status_code == 200
        assert (
            actor.client.get("/api/me", headers={"Authorization": f"Bearer {old_token}"})
        ).status_code == 401

    def test_wrong_current_password_is_422(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.post(
            "/api/me/password",
            json={"current_password": "wrong one here", "new_password": "a brand new passphrase"},
        )
        assert answer.status_code == 422

    def test_recovery_code_sets_a_new_password_once(self, app: FastAPI) -> None:
        actor = register(app)
        client = new_client(app)
        body = {
            "email": actor.email,
            "recovery_code": actor.recovery_code.lower(),
            "new_password": "recovered passphrase",
        }
        answer = client.post("/api/auth/recover", json=body)
        assert answer.status_code == 200
        assert answer.json()["recovery_code"] != actor.recovery_code
        assert client.post("/api/auth/recover", json=body).status_code == 422
        assert actor.get("/api/me").status_code == 401  # every session ended
        login_answer = client.post(
            "/api/auth/login", json={"email": actor.email, "password": "recovered passphrase"}
        )
        assert login_answer.status_code == 200

    def test_recovery_for_unknown_email_looks_like_a_wrong_code(self, app: FastAPI) -> None:
        actor = register(app)
        client = new_client(app)
        wrong = client.post(
            "/api/auth/recover",
            json={"email": actor.email, "recovery_code": "AAAA", "new_password": "x" * 12},
        )
        unknown = new_client(app).post(
            "/api/auth/recover",
            json={"email": unique_email(), "recovery_code": "AAAA", "new_password": "x" * 12},
        )
        assert wrong.status_code == unknown.status_code == 422
        assert wrong.json() == unknown.json()


class TestMe:
    def test_update_profile_and_timezone(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.patch("/api/me", json={"display_name": "Robin B", "timezone": "Asia/Tokyo"})
        assert answer.status_code == 200
        assert answer.json()["timezone"] == "Asia/Tokyo"
        assert actor.patch("/api/me", json={"timezone": "Nowhere/Else"}).status_code == 422
        assert actor.patch("/api/me", json={"role": "therapist"}).status_code == 422
        assert actor.get("/api/me").json()["role"] == "partner"

    def test_export_holds_my_account_and_memberships(self, app: FastAPI) -> None:
        actor = register(app)
        data = actor.get("/api/me/export").json()
        assert data["user"]["id"] == actor.id
        assert "memberships" in data

    def test_deleting_the_account_signs_out_and_frees_nothing_of_others(self, app: FastAPI) -> None:
        actor = register(app)
        assert actor.delete_account().status_code == 204
        assert actor.get("/api/me").status_code == 401
        again = new_client(app).post(
            "/api/auth/login", json={"email": actor.email, "password": PASSWORD}
        )
        assert again.status_code == 401
        # The email can be used again by a new account.
        register(app, email=actor.email)

    def test_access_log_lists_events_about_me(self, app: FastAPI) -> None:
        actor = register(app)
        actor.get("/api/me/export")
        actions = [e["action"] for e in actor.get("/api/me/access-log").json()]
        assert "account.exported" in actions


class TestTokens:
    def test_missing_malformed_or_tampered_tokens_are_401(self, app: FastAPI) -> None:
        actor = register(app)
        client = new_client(app)
        header, payload, signature = actor.token.split(".")
        tampered = f"{header}.{payload}.{signature[:-2]}AA"
        for value in ("", "Bearer", "Bearer abc", f"Bearer {tampered}", f"Basic {actor.token}"):
            answer = client.get("/api/me", headers={"Authorization": value})
            assert answer.status_code == 401, value

    def test_alg_none_is_refused(self, app: FastAPI) -> None:
        import base64
        import json

        actor = register(app)
        claims = json.loads(base64.urlsafe_b64decode(actor.token.split(".")[1] + "=="))

        def part(data: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        forged = f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."
        answer = new_client(app).get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401

    def test_expired_token_is_401(self, app: FastAPI) -> None:
        from joserfc import jwt
        from joserfc.jwk import OctKey

        actor = register(app)
        settings = app.state.settings
        claims = jwt.decode(actor.token, OctKey.import_key(settings.signing_key)).claims
        claims["exp"] = int(time.time()) - 60
        expired = jwt.encode(
            {"alg": "HS256", "typ": "at+jwt"}, claims, OctKey.import_key(settings.signing_key)
        )
        answer = new_client(app).get("/api/me", headers={"Authorization": f"Bearer {expired}"})
        assert answer.status_code == 401
