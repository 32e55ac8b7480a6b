"""The PWA's shell files: public, the same for everyone (nothing personal is in them).
Versioned assets are a mounted ASGI app under /assets, outside the router."""

from tests.authz import Case

CASES = [
    Case("GET", "/", public=True, expect={"everyone": 200, "anonymous": 200}),
    Case("GET", "/sw.js", public=True, expect={"everyone": 200, "anonymous": 200}),
    Case("GET", "/manifest.webmanifest", public=True, expect={"everyone": 200, "anonymous": 200}),
]
