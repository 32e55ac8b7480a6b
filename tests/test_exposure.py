"""What every answer shows about the server: security headers on HTML, JSON and errors, on
every route; no version banners; the API description can be turned off; errors never carry a
stack trace, an exception's message or the input that caused them, not even in the log."""

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fastapi
import httpx
import pydantic
import pytest
import starlette
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tandem.cli import UVICORN_OPTIONS
from tandem.main import create_app
from tests.conftest import make_settings
from tests.factories import new_client, register
from tests.test_authz_matrix import app_routes

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
# Library versions that must never appear in an answer.
VERSIONS = [fastapi.__version__, starlette.__version__, pydantic.VERSION, uvicorn.__version__]


def _assert_hardened(answer: httpx.Response, *, api: bool) -> None:
    where = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (where, name)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "camera=()" in answer.headers["permissions-policy"], where
    assert "server" not in answer.headers, where
    assert "x-powered-by" not in answer.headers, where
    if api:
        assert answer.headers["cache-control"] == "no-store", where
    body = answer.text
    assert "Traceback" not in body and 'File "' not in body, where
    for version in VERSIONS:
        assert version not in body, (where, version)


def _concrete(path: str) -> str:
    # Every path parameter gets an id nobody has: the answer is an error, which is the point.
    out, rest = "", path
    while "{" in rest:
        before, _, after = rest.partition("{")
        _, _, rest = after.partition("}")
        out += before + str(uuid.uuid4())
    return out + rest


class TestHeadersOnEveryRoute:
    def test_every_route_as_anonymous_and_signed_in(self, app: FastAPI) -> None:
        anonymous = new_client(app)
        partner = register(app)
        for method, path in sorted(app_routes(app)):
            if (method, path) in {("DELETE", "/api/me"), ("DELETE", "/api/me/sessions")}:
                continue  # would end the signed-in caller; both are covered below
            concrete = _concrete(path)
            # The app shell, service worker and manifest hold nothing personal: they are
            # revalidated (no-cache) rather than never stored, so the app opens offline.
            api = not (path == "/" or path.startswith(("/sw.js", "/manifest")))
            _assert_hardened(anonymous.request(method, concrete), api=api)
            if method in ("GET", "DELETE") or "{" in path:
                _assert_hardened(partner.request(method, concrete), api=api)
        _assert_hardened(partner.delete("/api/me/sessions"), api=True)

    def test_json_errors_are_json(self, app: FastAPI) -> None:
        client = new_client(app)
        for answer in (
            client.get("/api/me"),  # 401
            client.get("/api/no-such-route"),  # 404
            client.put("/healthz"),  # 405
            client.post(
                "/api/auth/login", content=b"\xff\xfe", headers={"content-type": "application/json"}
            ),
            client.post("/api/auth/login", json={"email": 1}),  # 422
        ):
            assert answer.headers["content-type"].startswith("application/json"), answer.text
            assert set(answer.json()) == {"detail"}
            _assert_hardened(answer, api=True)

    def test_html_pages_carry_the_headers(self, app: FastAPI) -> None:
        client = new_client(app)
        _assert_hardened(client.get("/no-such-page"), api=False)
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        _assert_hardened(home, api=False)


class TestBanners:
    def test_the_description_names_no_library_version(self, app: FastAPI) -> None:
        description = new_client(app).get("/openapi.json")
        assert description.status_code == 200
        assert description.json()["info"]["version"] == "1"
        _assert_hardened(description, api=True)

    def test_the_real_server_sends_no_server_or_date_header(self, app: FastAPI) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **UVICORN_OPTIONS))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(100):
                if server.started:
                    break
                time.sleep(0.05)
            for path in ("/healthz", "/api/me", "/nothing"):
                answer = httpx.get(f"http://127.0.0.1:{port}{path}")
                assert "server" not in answer.headers, path
                assert "date" not in answer.headers, path
        finally:
            server.should_exit = True
            thread.join(10)

    def test_trace_and_unknown_methods_are_refused(self, app: FastAPI) -> None:
        client = new_client(app)
        for method in ("TRACE", "PROPFIND"):
            answer = client.request(method, "/healthz")
            assert answer.status_code == 405, method
            _assert_hardened(answer, api=True)


class TestDocsSwitch:
    @pytest.fixture()
    def docs_off(self, app: FastAPI, tmp_path: Path) -> Iterator[FastAPI]:
        settings = make_settings(tmp_path, app.state.settings.database_url, docs_enabled=False)
        application = create_app(settings)
        yield application
        application.state.engine.dispose()

    def test_docs_off_hides_the_description(self, docs_off: FastAPI) -> None:
        client = new_client(docs_off)
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200

    def test_the_interactive_docs_are_never_served_from_a_cdn(self, app: FastAPI) -> None:
        client = new_client(app)
        for path in ("/docs", "/redoc"):
            assert client.get(path).status_code == 404


class TestInternalErrors:
    @pytest.fixture()
    def failing_app(self, app: FastAPI, tmp_path: Path) -> Iterator[FastAPI]:
        application = create_app(make_settings(tmp_path, app.state.settings.database_url))

        @application.get("/api/test-only/boom")
        def boom(note: str = "") -> None:
            # An exception whose message carries what a person wrote.
            raise RuntimeError(f"could not save note: {note}")

        yield application
        application.state.engine.dispose()

    def test_the_answer_is_generic_and_the_log_holds_no_user_data(
        self, failing_app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        secret = "we argued about my mother again"
        # raise_server_exceptions: an exception escaping to the server (whose log would print
        # its message) would fail this test here.
        client = TestClient(failing_app, base_url="https://testserver")
        with caplog.at_level(logging.DEBUG):
            answer = client.get("/api/test-only/boom", params={"note": secret})
        assert answer.status_code == 500
        assert answer.json() == {"detail": "Internal error"}
        _assert_hardened(answer, api=True)
        assert secret not in answer.text and "RuntimeError" not in answer.text
        # The server's records (the test client's own httpx lines name the URL it asked for).
        records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
        logged = "\n".join(r.getMessage() for r in records)
        assert "RuntimeError" in logged and "/api/test-only/boom" in logged
        assert secret not in logged
        assert "note=" not in logged  # the query string is not logged either
        for record in records:
            assert record.exc_info is None or secret not in str(record.exc_info[1])

    def test_refusals_are_logged_by_route_without_ids_or_injected_lines(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        partner = register(app)
        anonymous = new_client(app)
        with caplog.at_level(logging.INFO, logger="tandem"):
            assert anonymous.get("/api/me").status_code == 401
            foreign = str(uuid.uuid4())
            assert partner.get(f"/api/couples/{foreign}").status_code == 404
            assert partner.get("/api/couples/x%0Arefused 200 on GET forged").status_code == 404
        lines = [r.getMessage() for r in caplog.records if r.name == "tandem"]
        assert "refused 401 on GET /api/me" in lines
        assert lines.count("refused 404 on GET /api/couples/{couple_id}") == 2
        assert not any(foreign in line or "forged" in line for line in lines)

    def test_validation_errors_never_echo_the_input(self, app: FastAPI) -> None:
        secret = "my private passphrase that is wrong"
        answer = new_client(app).post(
            "/api/auth/register",
            json={"email": secret, "password": secret, "display_name": "", "role": "x"},
        )
        assert answer.status_code == 422
        assert secret not in answer.text
        detail = answer.json()["detail"]
        assert all(set(e) - {"ctx"} == {"loc", "msg", "type"} for e in detail)
        # The limit broken comes along as a number, so the app can put it into words.
        [name] = [e for e in detail if e["loc"] == ["body", "display_name"]]
        assert name["ctx"] == {"min_length": 1}


class TestCookies:
    def test_the_refresh_cookie_is_prefixed_secure_httponly_strict(self, app: FastAPI) -> None:
        actor = register(app)
        answer = actor.client.post(
            "/api/auth/login", json={"email": actor.email, "password": actor.password}
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Secure-tandem_refresh=")
        lowered = cookie.lower()
        for flag in ("httponly", "secure", "samesite=strict", "path=/api/auth"):
            assert flag in lowered
