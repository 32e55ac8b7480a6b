"""The hottest routes, answered before FastAPI's router: `GET /healthz`, the current plan read
(`GET /api/couples/{couple_id}/plans/current`) and the practice-log write (`POST
/api/plan-items/{item_id}/sessions`).

Matching a path against every route, solving the dependencies and FastAPI's request handling
cost more CPU than these routes' own work (docs/BENCHMARKS.md, "Load"). This plain ASGI handler
sits inside Tandem's middlewares (the access log line, the request id, the security headers,
the containment of errors) and in front of Starlette's and FastAPI's stack: a request it
recognizes is answered here, by the same functions the routes call (api/access.py for who is
asking, api/plan_read.py, plans/practice_logs.py) and with the same error answers (the app's
own exception handlers). The routes stay declared in api/plans.py and main.py: they describe
these answers in the OpenAPI document, and they serve whatever this handler passes on.

Anything unusual goes to the ordinary stack, which then answers it as before: a percent-encoded
path or a query string RefuseUnstorableText would look at, a GET with a body, a POST whose body
is not a small `application/json` document that parses into the route's model (a 401, 413 or
422 there comes from the ordinary stack, in its order). tests/test_fast_paths.py holds every
answer (status, headers, body) to the ordinary stack's.
"""

import functools
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette._exception_handler import _lookup_exception_handler
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.api import plan_read
from tandem.api.access import access_claims
from tandem.core import async_pg, loop_db
from tandem.core.middleware import unstorable_part
from tandem.exercises.service import library_loaded
from tandem.plans import practice_logs
from tandem.plans.models import PracticeLogCreate

PLAN_PREFIX, PLAN_SUFFIX = "/api/couples/", "/plans/current"
LOG_PREFIX, LOG_SUFFIX = "/api/plan-items/", "/sessions"
HEALTHY = b'{"status":"ok"}'  # what FastAPI makes of healthz's {"status": "ok"}
JSON = b"application/json"


def _route(app: FastAPI, path: str, method: str) -> APIRoute:
    """The declared route, as the router puts it in the scope (an included router's routes
    are its own, with their prefix; main.py includes them without one)."""
    found = _find(list(app.routes), path, method)
    if found is None:  # pragma: no cover - a wiring mistake
        raise LookupError(f"{method} {path} is not declared")
    return found


def _find(routes: list[Any], path: str, method: str) -> APIRoute | None:
    for route in routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            found = _find(list(included.routes), path, method)
            if found is not None:
                return found
    return None


def _segment(path: str, prefix: str, suffix: str) -> str | None:
    """The one path segment between `prefix` and `suffix`, as Starlette's `{param}` takes it."""
    if not (path.startswith(prefix) and path.endswith(suffix)):
        return None
    segment = path[len(prefix) : len(path) - len(suffix)]
    return segment if segment and "/" not in segment else None


class FastPaths:
    def __init__(self, app: ASGIApp, api: FastAPI, *, max_body_bytes: int) -> None:
        self.app = app
        self.api = api
        self.max_body_bytes = max_body_bytes
        self.health = _route(api, "/healthz", "GET")
        self.plan = _route(api, PLAN_PREFIX + "{couple_id}" + PLAN_SUFFIX, "GET")
        self.log = _route(api, LOG_PREFIX + "{item_id}" + LOG_SUFFIX, "POST")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            if method == "GET":
                if path == "/healthz" and _plain(scope, bodiless=True):
                    self._matched(scope, self.health, {})
                    await _send_json(send, 200, HEALTHY)
                    return
                couple = _segment(path, PLAN_PREFIX, PLAN_SUFFIX)
                if couple is not None and _plain(scope, bodiless=True):
                    await self._plan(scope, receive, send, couple)
                    return
            elif method == "POST":
                item = _segment(path, LOG_PREFIX, LOG_SUFFIX)
                if item is not None and _plain(scope, bodiless=False):
                    await self._log(scope, receive, send, item)
                    return
        await self.app(scope, receive, send)

    def _matched(self, scope: Scope, route: APIRoute, params: dict[str, str]) -> None:
        # What the router would set: the access log line and the error log name the route.
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params

    async def _plan(self, scope: Scope, receive: Receive, send: Send, couple: str) -> None:
        self._matched(scope, self.plan, {"couple_id": couple})
        try:
            await library_loaded(self.api.state.engine)
            settings = self.api.state.settings
            claims = await access_claims(settings, _credentials(scope))
            body = await plan_read.read(
                self.api.state.engine,
                claims=claims,
                couple_id=couple,
                week_start=None,
                kek=settings.key_encryption_key,
            )
        except Exception as error:  # noqa: BLE001 - answered by the app's handlers
            response = await self._error(Request(scope, receive), error)
            await response(scope, receive, send)
            return
        await _send_json(send, 200, body)

    async def _log(self, scope: Scope, receive: Receive, send: Send, item: str) -> None:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if headers.get(b"content-type") != b"application/json" or declared is None:
            await self.app(scope, receive, send)
            return
        if not declared.isdigit() or int(declared) > self.max_body_bytes:
            await self.app(scope, receive, send)
            return
        body, more, whole = await _read_body(receive, self.max_body_bytes)
        data = _log_body(body) if whole else None
        if data is None:  # the ordinary stack answers it (413, 422), from the bytes read
            await self.app(scope, _replay(body, more, receive), send)
            return
        self._matched(scope, self.log, {"item_id": item})
        try:
            await library_loaded(self.api.state.engine)
            settings = self.api.state.settings
            claims = await access_claims(settings, _credentials(scope))
            engine = self.api.state.engine
            kek = settings.key_encryption_key
            done = None
            if async_pg.serves(engine):
                # The common case on the loop, outside a transaction; the rest (None) in one.
                done = await async_pg.run_steps(
                    engine,
                    functools.partial(
                        practice_logs.log_steps, claims=claims, item_id=item, data=data, kek=kek
                    ),
                )
            if done is None:
                done = await loop_db.run_write(
                    engine,
                    practice_logs.log_practice_json,
                    claims=claims,
                    item_id=item,
                    data=data,
                    kek=kek,
                )
            code, answer = done
        except Exception as error:  # noqa: BLE001 - answered by the app's handlers
            response = await self._error(Request(scope, receive), error)
            await response(scope, receive, send)
            return
        await _send_json(send, code, answer)

    async def _error(self, request: Request, error: Exception) -> Response:
        """The answer the app's exception handlers give (errors.install_handlers): the same
        status, body, headers and log line as from a route."""
        handlers: Any = self.api.exception_handlers
        handler: Any = _lookup_exception_handler(handlers, error)
        if handler is None:  # pragma: no cover - Exception has a handler
            raise error
        response: Response = await handler(request, error)
        return response


def _credentials(scope: Scope) -> HTTPAuthorizationCredentials | None:
    """What access.bearer (HTTPBearer, auto_error off) gives the routes, read from the scope
    without a Request and its Headers: the first Authorization header, as "scheme credentials"
    of a bearer scheme, or None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    else:
        return None
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    """What Starlette's Response(body, status, media_type="application/json") sends, without
    building one."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", JSON)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _plain(scope: Scope, *, bodiless: bool) -> bool:
    """Nothing for RefuseUnstorableText to refuse, and (a GET) no body for BodySizeLimit."""
    if b"%" in scope.get("raw_path", b"%") or unstorable_part(scope) is not None:
        return False
    if bodiless:
        for name, value in scope["headers"]:
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                return False
    return True


def _log_body(body: bytes) -> PracticeLogCreate | None:
    """The body as FastAPI validates it (pydantic's python mode on the parsed JSON), or None:
    anything else is left to FastAPI, for its own 422."""
    try:
        return PracticeLogCreate.model_validate(json.loads(body))
    except Exception:  # noqa: BLE001 - any failure: the ordinary stack answers it
        return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool, bool]:
    """The body as far as read, whether more is to come (left for the ordinary stack to
    read), and whether it is whole: within `limit`, and the client did not leave."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size > limit or not more:
            return b"".join(chunks), more, size <= limit and not more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that gives the bytes already read, then whatever is left."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": more}
            return message
        return await receive()

    return replayed
