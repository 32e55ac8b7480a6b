from tests.authz import Case, MatrixWorld
from tests.factories import PASSWORD, register, unique_email

NEW_PASSWORD = "a different long passphrase"

CASES = [
    Case(
        "POST",
        "/api/auth/register",
        public=True,
        expect={"everyone": 201, "anonymous": 201},
        body=lambda w: {
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "New",
            "role": "partner",
            "timezone": "UTC",
        },
    ),
    Case(
        "POST",
        "/api/auth/login",
        public=True,
        expect={"everyone": 401, "anonymous": 401},
        body=lambda w: {"email": unique_email(), "password": "wrong password here"},
    ),
    # Signed-in actors hold their device's refresh cookie; the anonymous client has none.
    Case("POST", "/api/auth/refresh", public=True, expect={"everyone": 200, "anonymous": 401}),
    Case("POST", "/api/auth/logout", fresh="case", expect={"everyone": 204}),
    Case(
        "POST",
        "/api/auth/recover",
        public=True,
        expect={"everyone": 422, "anonymous": 422},
        body=lambda w: {
            "email": unique_email(),
            "recovery_code": "AAAA-BBBB",
            "new_password": NEW_PASSWORD,
        },
    ),
    Case("GET", "/api/me", expect={"everyone": 200}),
    Case("PATCH", "/api/me", expect={"everyone": 200}, body=lambda w: {"timezone": "UTC"}),
    Case(
        "DELETE",
        "/api/me",
        fresh="case",
        expect={"everyone": 204},
        body=lambda w: {"password": PASSWORD},
    ),
    Case(
        "POST",
        "/api/me/recovery-code",
        fresh="case",
        expect={"everyone": 200},
        body=lambda w: {"password": PASSWORD},
    ),
    Case(
        "POST",
        "/api/me/password",
        fresh="case",
        expect={"everyone": 204},
        body=lambda w: {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    ),
    Case("GET", "/api/me/sessions", expect={"everyone": 200}),
    # Someone else's sign-in session is as unknown as a made-up one.
    Case(
        "DELETE",
        "/api/me/sessions/{session_id}",
        expect={"everyone": 404},
        params=lambda w: {"session_id": _bystanders_session(w)},
    ),
    Case("DELETE", "/api/me/sessions", fresh="case", expect={"everyone": 204}),
    Case("GET", "/api/me/export", expect={"everyone": 200}),
    Case("GET", "/api/me/access-log", expect={"everyone": 200}),
    Case("GET", "/healthz", public=True, expect={"everyone": 200, "anonymous": 200}),
    Case("GET", "/readyz", public=True, expect={"everyone": 200, "anonymous": 200}),
]


def _bystanders_session(w: MatrixWorld) -> str:
    if "bystander_session" not in w.context:
        bystander = register(w.app)
        w.context["bystander_session"] = bystander.get("/api/me/sessions").json()[0]["id"]
    return w.context["bystander_session"]
