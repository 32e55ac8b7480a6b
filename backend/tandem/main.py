"""create_app(): routers, the PWA's files, error handlers, and the embedded worker."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from tandem import frontend, migrations, wiring
from tandem.api import openapi, sso
from tandem.api.accounts import router as accounts_router
from tandem.api.appointments import router as appointments_router
from tandem.api.couples import router as couples_router
from tandem.api.exercises import router as exercises_router
from tandem.api.fast_paths import FastPaths
from tandem.api.journal import router as journal_router
from tandem.api.measures import router as measures_router
from tandem.api.plans import router as plans_router
from tandem.api.practice_times import router as practice_times_router
from tandem.api.reminders import router as reminders_router
from tandem.api.workspace import router as workspace_router
from tandem.core import async_pg, loop_db, metrics
from tandem.core.config import Settings
from tandem.core.db import is_sqlite, make_engine
from tandem.core.errors import RETRY_AFTER_SECONDS, install_handlers
from tandem.core.middleware import (
    BodySizeLimit,
    ContainHandledErrors,
    Observe,
    RefuseUnstorableText,
    SecurityHeaders,
)
from tandem.reminders.worker import Worker

log = logging.getLogger("tandem")
FRONTEND = Path(__file__).resolve().parents[2] / "frontend"

ROUTERS = [
    accounts_router,
    sso.router,
    couples_router,
    exercises_router,
    plans_router,
    journal_router,
    reminders_router,
    appointments_router,
    workspace_router,
    measures_router,
    practice_times_router,
]


def create_app(
    settings: Settings | None = None, *, run_worker: bool = False, fast_paths: bool = True
) -> FastAPI:
    """The app. `fast_paths=False`: without api/fast_paths.py (its tests compare the two)."""
    settings = settings or Settings()
    settings.ensure_keys()
    # Every domain fills the registries below it (tandem/wiring.py), before anything runs.
    wiring.register()
    engine = make_engine(settings.database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if run_worker:
            worker = Worker(settings, engine)
            worker.start_thread()
        # The hot paths' SQLite connections never checkpoint at commit (core/loop_db.py).
        checkpointer = loop_db.start_checkpointer(engine)
        yield
        if worker is not None:
            worker.stop()
            worker.join(timeout=30)
        if checkpointer is not None:
            checkpointer.stop()
        await async_pg.dispose(engine)
        loop_db.dispose(engine)
        engine.dispose()

    app = FastAPI(
        title="Tandem",
        version="1",
        lifespan=lifespan,
        # Swagger and ReDoc load their assets from a CDN; the no-third-party rule forbids it.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # Tandem has its own metrics (/metrics) and log lines; FastAPI's OpenTelemetry hook
        # asked whether a provider was configured on every request (~11 µs).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.migration_heads = migrations.expected_heads(engine)
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    sqlite_file = (
        Path(engine.url.database)
        if is_sqlite(engine) and engine.url.database not in (None, "", ":memory:")
        else None
    )

    @app.get("/readyz", tags=["health"], responses=openapi.errors(503))
    def readyz(request: Request) -> JSONResponse:
        try:
            if sqlite_file is not None and not sqlite_file.exists():
                # Open connections keep a deleted file alive; the next start would not find it.
                raise FileNotFoundError("the SQLite database file is gone")
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            migrated = migrations.current_heads(engine) == request.app.state.migration_heads
        except Exception as exc:  # any database failure means "not ready", never a 500
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "database unreachable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if not migrated:
            return JSONResponse({"status": "migrations pending"}, status_code=503)
        return JSONResponse({"status": "ready"})

    app.include_router(metrics.router)
    # Last: the app's files answer every path no route above took.
    frontend.install(app, FRONTEND)
    sso.install(app, settings)
    openapi.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RefuseUnstorableText)
    # Outside Starlette's own error middleware, so even a 500 carries the security headers,
    # and an exception already answered and logged goes no further (middleware.py). Observe is
    # outermost: it times and logs everything, the 413s and the 500s too.
    # FastPaths: the hottest routes, answered before the router (api/fast_paths.py), inside
    # the access log, the request id, the security headers and the containment of errors.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: Observe(  # type: ignore[method-assign]  # wraps the built stack
        ContainHandledErrors(
            SecurityHeaders(
                FastPaths(build_stack(), app, max_body_bytes=settings.max_body_bytes)
                if fast_paths
                else build_stack(),
                hsts=settings.is_https,
            )
        )
    )
    return app
