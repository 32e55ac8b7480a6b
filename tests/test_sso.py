"""Practice single sign-on, end to end against a real OpenID Connect provider on loopback.

The provider is `oidc-provider-mock` in a thread; the browser's part (following redirects
between the app and the provider, submitting the provider's sign-in form) is played by hand
with httpx, so each step can be inspected and tampered with.
"""

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from oidc_provider_mock import run_server_in_thread

from tandem.core.config import Settings
from tandem.main import create_app
from tests.conftest import make_settings
from tests.factories import new_client, register

DOMAIN = "practice.test"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def _sso_app(app: FastAPI, provider: str, tmp: Path, **overrides: object) -> FastAPI:
    # `app` (the session fixture) has already built the schema in this database.
    settings = make_settings(
        tmp,
        app.state.settings.database_url,
        sso_issuer=provider,
        sso_client_id="tandem",
        sso_client_secret="client-secret-for-tests",
        **overrides,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def sso_app(
    app: FastAPI, provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    application = _sso_app(
        app, provider, tmp_path_factory.mktemp("sso"), sso_allowed_domains=DOMAIN
    )
    yield application
    application.state.engine.dispose()


def _person(provider: str, email: str | None = None, **extra: object) -> str:
    """A user at the provider, with its claims; answers the subject to sign in as."""
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    claims = {"email": email or f"{sub}@{DOMAIN}", "name": "Dr Ada", "email_verified": True}
    claims.update(extra)
    assert httpx.put(f"{provider}/users/{sub}", json=claims).status_code == 204
    return sub


def _start(browser: TestClient) -> str:
    answer = browser.get("/api/auth/sso/login", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _at_provider(authorize_url: str, sub: str) -> str:
    """The person signs in at the provider; answers where the provider sends the browser."""
    answer = httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _callback(browser: TestClient, redirect: str) -> httpx.Response:
    parsed = urlparse(redirect)
    assert parsed.path == "/api/auth/sso/callback"
    return browser.get(f"{parsed.path}?{parsed.query}", follow_redirects=False)


def _sign_in(browser: TestClient, provider: str, sub: str) -> httpx.Response:
    return _callback(browser, _at_provider(_start(browser), sub))


def _replace_query(url: str, **values: str) -> str:
    parsed = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    query.update(values)
    return urlunparse(parsed._replace(query=urlencode(query)))


class TestSignIn:
    def test_login_redirects_with_pkce_s256_state_and_nonce(self, sso_app: FastAPI) -> None:
        location = _start(new_client(sso_app))
        query = parse_qs(urlparse(location).query)
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) >= 43
        assert query["state"][0] and query["nonce"][0]
        assert query["redirect_uri"] == ["http://localhost:8000/api/auth/sso/callback"]
        assert "openid" in query["scope"][0].split()

    def test_the_state_cookie_is_scoped_to_the_sso_routes(self, sso_app: FastAPI) -> None:
        answer = new_client(sso_app).get("/api/auth/sso/login", follow_redirects=False)
        cookie = answer.headers["set-cookie"].lower()
        assert "path=/api/auth/sso" in cookie
        assert "samesite=lax" in cookie and "secure" in cookie and "httponly" in cookie
        assert "max-age=600" in cookie

    def test_success_creates_a_therapist_with_a_working_session(
        self, sso_app: FastAPI, provider: str
    ) -> None:
        browser = new_client(sso_app)
        answer = _sign_in(browser, provider, _person(provider))
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == "http://localhost:8000/#/signed-in"
        assert "access_token" not in answer.headers["location"]
        refreshed = browser.post("/api/auth/refresh")
        assert refreshed.status_code == 200, refreshed.text
        token = refreshed.json()["access_token"]
        me = browser.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "therapist"
        assert me["email"].endswith("@" + DOMAIN)
        sessions = browser.get("/api/me/sessions", headers={"Authorization": f"Bearer {token}"})
        assert len(sessions.json()) == 1

    def test_a_second_login_links_the_same_account(self, sso_app: FastAPI, provider: str) -> None:
        sub = _person(provider)
        ids = []
        for _ in range(2):
            browser = new_client(sso_app)
            assert _sign_in(browser, provider, sub).status_code == 302
            token = browser.post("/api/auth/refresh").json()["access_token"]
            ids.append(
                browser.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
            )
        assert ids[0] == ids[1]

    def test_an_email_outside_the_allowed_domains_is_403(
        self, sso_app: FastAPI, provider: str
    ) -> None:
        sub = _person(provider, email=f"{uuid.uuid4().hex[:8]}@elsewhere.test")
        assert _sign_in(new_client(sso_app), provider, sub).status_code == 403

    def test_an_email_of_a_password_account_is_never_taken_over(
        self, sso_app: FastAPI, provider: str
    ) -> None:
        existing = register(sso_app, role="therapist", email=f"pw-{uuid.uuid4().hex[:8]}@{DOMAIN}")
        sub = _person(provider, email=existing.email)
        assert _sign_in(new_client(sso_app), provider, sub).status_code == 409


class TestEmailVerification:
    def test_an_email_the_provider_has_not_verified_is_403(
        self, sso_app: FastAPI, provider: str
    ) -> None:
        answer = _sign_in(new_client(sso_app), provider, _person(provider, email_verified=False))
        assert answer.status_code == 403
        assert "not confirmed your email" in answer.json()["detail"]

    def test_an_email_without_the_claim_needs_a_trusted_provider(
        self, app: FastAPI, sso_app: FastAPI, provider: str, tmp_path: Path
    ) -> None:
        sub = _person(provider)
        assert (
            httpx.put(
                f"{provider}/users/{sub}", json={"email": f"{sub}@{DOMAIN}", "name": "Dr Ada"}
            ).status_code
            == 204
        )
        assert _sign_in(new_client(sso_app), provider, sub).status_code == 403
        trusting = _sso_app(app, provider, tmp_path, sso_trust_email=True)
        assert _sign_in(new_client(trusting), provider, sub).status_code == 302
        trusting.state.engine.dispose()


class TestBadCallbacks:
    def test_a_forged_state_is_400(self, sso_app: FastAPI, provider: str) -> None:
        browser = new_client(sso_app)
        redirect = _at_provider(_start(browser), _person(provider))
        answer = _callback(browser, _replace_query(redirect, state="forged-state"))
        assert answer.status_code == 400
        assert "__Secure-tandem_refresh" not in answer.headers.get("set-cookie", "")

    def test_a_callback_without_the_browsers_state_cookie_is_400(
        self, sso_app: FastAPI, provider: str
    ) -> None:
        redirect = _at_provider(_start(new_client(sso_app)), _person(provider))
        # Login CSRF: the attacker's code and state, delivered to the victim's browser.
        assert _callback(new_client(sso_app), redirect).status_code == 400

    def test_a_replayed_callback_is_400(self, sso_app: FastAPI, provider: str) -> None:
        browser = new_client(sso_app)
        redirect = _at_provider(_start(browser), _person(provider))
        stale_cookie = browser.cookies.get("__Secure-tandem_sso")
        assert _callback(browser, redirect).status_code == 302
        # Again from the same browser: the state was consumed.
        assert _callback(browser, redirect).status_code == 400
        # Again with the cookie as it was before: the provider's code was consumed.
        replay = new_client(sso_app)
        replay.cookies.set("__Secure-tandem_sso", stale_cookie, path="/api/auth/sso")
        assert _callback(replay, redirect).status_code == 400

    def test_a_wrong_nonce_is_400(self, sso_app: FastAPI, provider: str) -> None:
        browser = new_client(sso_app)
        tampered = _replace_query(_start(browser), nonce="attacker-chosen-nonce")
        assert _callback(browser, _at_provider(tampered, _person(provider))).status_code == 400

    def test_an_id_token_from_another_issuer_is_400(
        self, app: FastAPI, provider: str, tmp_path: Path
    ) -> None:
        other = _sso_app(app, provider, tmp_path)
        try:
            browser = new_client(other)
            redirect = _at_provider(_start(browser), _person(provider))
            # As if discovery had named another issuer than the one that signs the tokens.
            other.state.sso.server_metadata["issuer"] = "http://issuer.invalid"
            assert _callback(browser, redirect).status_code == 400
        finally:
            other.state.engine.dispose()

    def test_a_provider_naming_another_issuer_is_refused_at_login(
        self, app: FastAPI, provider: str, tmp_path: Path
    ) -> None:
        other = _sso_app(app, provider, tmp_path)
        try:
            browser = new_client(other)
            _start(browser)  # loads the provider's metadata
            other.state.sso.server_metadata["issuer"] = "http://impostor.invalid"
            answer = browser.get("/api/auth/sso/login", follow_redirects=False)
            assert answer.status_code == 502
        finally:
            other.state.engine.dispose()

    def test_a_denied_or_garbled_callback_is_400(self, sso_app: FastAPI) -> None:
        browser = new_client(sso_app)
        _start(browser)
        for query in ("error=access_denied&state=x", "", "code=&state=", "code=x"):
            answer = browser.get(f"/api/auth/sso/callback?{query}", follow_redirects=False)
            assert answer.status_code == 400, (query, answer.text)


class TestMisconfiguration:
    def test_an_unreachable_provider_is_502_not_500(self, app: FastAPI, tmp_path: Path) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
        other = _sso_app(app, closed, tmp_path)
        try:
            browser = new_client(other)
            assert browser.get("/api/auth/sso/login", follow_redirects=False).status_code == 502
            callback = browser.get("/api/auth/sso/callback?code=x&state=y", follow_redirects=False)
            assert callback.status_code == 502
        finally:
            other.state.engine.dispose()

    def test_a_plain_http_issuer_is_refused_on_an_https_deployment(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="SSO_ISSUER"):
            Settings(
                data_dir=tmp_path,
                base_url="https://tandem.example",
                sso_issuer="http://idp.example",
                sso_client_id="tandem",
                sso_client_secret="x" * 32,
            )


class TestSsoOff:
    def test_both_routes_are_404_when_not_configured(self, app: FastAPI) -> None:
        client = new_client(app)
        for path in ("/api/auth/sso/login", "/api/auth/sso/callback?code=x&state=y"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 404
            assert "set-cookie" not in answer.headers
