"""Domain errors raised by services, and the one place that turns them into HTTP answers."""

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("tandem")


class DomainError(Exception):
    status_code = 400
    default = "Bad request"
    # A sentence, or (a 422 that places its problems) a list of errors as FastAPI's own.
    detail: str | list[dict[str, Any]]

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None):
        self.detail = detail or self.default
        self.headers = headers
        super().__init__(self.detail)


class Invalid(DomainError):
    status_code = 422
    default = "Invalid input"


class Unauthorized(DomainError):
    status_code = 401
    default = "Not signed in"


class Forbidden(DomainError):
    status_code = 403
    default = "Not allowed for your role"


class NotFound(DomainError):
    """Also what another couple's object looks like: its existence is not revealed."""

    status_code = 404
    default = "Not found"


class Conflict(DomainError):
    status_code = 409
    default = "That does not fit the current state"


class Gone(DomainError):
    """A single-use or expiring capability (a notification's action token) that is spent."""

    status_code = 410
    default = "This is no longer available"


class TooManyRequests(DomainError):
    status_code = 429
    default = "Too many attempts; try again later"


class IntegrityFailure(DomainError):
    """Stored data failed an integrity check: never serve it."""

    status_code = 500
    default = "Stored data failed an integrity check"


# The database is unreachable, restarting, or dropped our connection: nothing the client did,
# and it passes. 503 with Retry-After (never 500), so clients and proxies retry.
UNAVAILABLE = "The service is briefly unavailable; please try again in a moment."
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.TimeoutError,
    sa.DisconnectionError,
)


def unavailable() -> JSONResponse:
    return JSONResponse(
        {"detail": UNAVAILABLE},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# Refusals worth a log line: not signed in, wrong role, not found (how probing for other
# couples' ids looks), too many attempts.
LOGGED_REFUSALS = {401, 403, 404, 429}


def _where(request: Request) -> str:
    """Method and route template (`/api/couples/{couple_id}`): never the concrete path, which
    a client controls (log injection) and which carries ids."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '(no route)')}"


# The limits a field broke (never the value sent), so the app can say "1 or more" in words.
_LIMIT_KEYS = ("ge", "gt", "le", "lt", "min_length", "max_length")


def _limits(ctx: object) -> dict[str, object]:
    if not isinstance(ctx, dict):
        return {}
    found = {
        k: v
        for k, v in ctx.items()
        if k in _LIMIT_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
    }
    return {"ctx": found} if found else {}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, IntegrityFailure):
            log.error("integrity failure: %s", exc.detail)
        elif exc.status_code in LOGGED_REFUSALS:
            log.info("refused %d on %s", exc.status_code, _where(request))
        headers = dict(exc.headers or {})
        if exc.status_code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Pydantic errors echo the offending input: that input may be a password or a note.
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
                **_limits(err.get("ctx")),
            }
            for err in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The type only: a driver's message can carry parameters.
        log.warning("database unavailable on %s: %s", _where(request), type(exc).__name__)
        return unavailable()

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable)

    @app.exception_handler(sa.DBAPIError)
    async def _database_error(request: Request, exc: sa.DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _database_unavailable(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only the type and where it happened: an exception's message can carry user data.
        where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        log.error("unhandled %s on %s\n%s", type(exc).__name__, _where(request), where)
        return JSONResponse({"detail": "Internal error"}, status_code=500)
