"""Pure ASGI middleware: cheap on every request, unlike BaseHTTPMiddleware."""

import itertools
import json
import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.core import logs, metrics
from tandem.core.schemas import BAD_TEXT

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (
                b"permissions-policy",
                b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
            ),
        ]
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/") or scope["path"] in (
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in names]
                if is_api and b"cache-control" not in names:
                    # Nothing a person wrote may sit in a browser or proxy cache.
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", []) if k != b"server"
                ] + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Refuse request bodies over the limit with 413, before the application reads them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await _reject(send)
                return
        # Read the body up front (it is small by definition), counting as it arrives.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send) -> None:
    await _answer(send, 413, {"detail": "Request body too large"}, close=True)


async def _answer(send: Send, status: int, content: Any, *, close: bool = False) -> None:
    headers = [(b"content-type", b"application/json")]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(content).encode()})


class RefuseUnstorableText:
    """A NUL or bytes that are not UTF-8 in the path or the query string: 422 before any route
    sees it, whatever the parameter (a body's fields are checked by `schemas.Body`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = unstorable_part(scope)
            if where is not None:
                detail = [{"loc": [where], "msg": BAD_TEXT, "type": "text"}]
                await _answer(send, 422, {"detail": detail})
                return
        await self.app(scope, receive, send)


def unstorable_part(scope: Scope) -> str | None:
    """Which part (path, query) holds a NUL or bytes that are not UTF-8, if any (also asked
    by api/fast_paths.py, which leaves such a request to this middleware)."""
    path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    for name, raw in (("path", path), ("query", scope.get("query_string", b""))):
        if b"%" not in raw and b"\x00" not in raw and raw.isascii():
            continue
        decoded = unquote_to_bytes(raw.replace(b"+", b" "))
        if b"\x00" in decoded:
            return name
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return name
    return None


class ContainHandledErrors:
    """Outermost wrapper: Starlette answers an unhandled exception with the generic 500 (see
    errors.py, which logs only its type and place) and then re-raises it for the server, whose
    log line would carry the exception's message, and a message can carry user data. Once the
    answer is sent, the exception stops here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if not started:
                raise


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")
# Generated ids: a random per-process prefix and a counter. Unique, and no system call per
# request (uuid4 reads the kernel's random source, which showed in the profile).
_ID_PREFIX = secrets.token_hex(10)
_ID_COUNTER = itertools.count(1)
access_log = logging.getLogger("tandem.access")


class Observe:
    """One JSON log line and the metrics for every request, and a request id on every answer.

    The route is the template (`/api/couples/{couple_id}`), never the raw path or the query
    string; a path no route matched is logged as "unmatched" so that probes for random URLs
    neither flood the metrics with series nor write what they asked for into the logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope.get("headers", [])).get(b"x-request-id")
        if given and _REQUEST_ID.match(given):
            rid = given.decode()
        else:
            rid = f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"
        token = logs.request_id.set(rid)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "request_id": rid,
                    },
                )
            logs.request_id.reset(token)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    if isinstance(route, Mount):
        return path.rstrip("/") + "/{path}"
    return path or "/"
