"""Practice single sign-on: off in the matrix app, so both routes are 404 to everyone."""

from tests.authz import Case

CASES = [
    Case("GET", "/api/auth/sso/login", public=True, expect={"everyone": 404, "anonymous": 404}),
    Case("GET", "/api/auth/sso/callback", public=True, expect={"everyone": 404, "anonymous": 404}),
]
