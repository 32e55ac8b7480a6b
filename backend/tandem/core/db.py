"""Engine, sessions and the column types every domain shares."""

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

# Constraint names that Alembic can diff and drop on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp read from a UTC column as Python gets it: aware, in UTC (SQLite's are naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_utc(at: datetime | str) -> datetime:
    """A timestamp read where no UTCDateTime converts it (an aggregate, a UNION's column):
    SQLite gives naive UTC, as text where the column's type is lost on the way."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for statements SQLAlchemy's Core writes best (upserts,
    conditional updates)."""
    # SQLAlchemy's declarative mapping sets __table__; SQLModel's class does not declare it.
    table = model.__table__  # type: ignore[attr-defined]  # undeclared; set by the mapping
    assert isinstance(table, Table), f"{model.__name__} is not a table model"
    return table


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def optional_timestamp(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kwargs)


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=40,
            max_overflow=20,
            hide_parameters=True,
        )
        _tune_sqlite(engine)
        return engine
    # The pool is larger than FastAPI's threadpool (40), so a request waiting on the pool
    # never waits on a request that waits on the threadpool; and it keeps 40 connections, so
    # a busy server does not open and close overflow connections on every burst.
    return create_engine(
        url,
        pool_size=40,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=10,
        hide_parameters=True,
    )


# Every SQLite connection's settings (core/loop_db.py's too, which then turns a few).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
    # After a checkpoint resets the WAL, its file is cut back to this: the WAL stays bounded.
    "PRAGMA journal_size_limit=67108864",
)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions start (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock
        # (SQLite answers "database is locked" at once), so writers take it up front.
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def write_engine(engine: Engine) -> Engine:
    """The engine with the `write` option (see _on_begin), made once: building it on every
    request costs the busiest writes more than a query."""
    found = getattr(engine, "_tandem_write_engine", None)
    if found is None:
        found = engine.execution_options(write=True)
        engine._tandem_write_engine = found  # type: ignore[attr-defined]  # kept on the engine it derives from
    return found


def write_session(bind: Engine | Connection) -> Session:
    """A session whose transaction takes SQLite's write lock at BEGIN (no-op on PostgreSQL).
    Given another session's bind (`session.get_bind()`), which is a connection for a session
    joined to one (core/transactions.py): the option goes on that connection."""
    if isinstance(bind, Connection):
        return Session(bind.execution_options(write=True), expire_on_commit=False)
    return Session(write_engine(bind), expire_on_commit=False)


# One gate per event loop (a server has one; the tests' clients each run their own).
_write_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def write_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _write_gates.get(loop)
    if gate is None:
        gate = _write_gates[loop] = asyncio.Semaphore(1)
    return gate


# In a GET's session's `info`: its engine (api/access.py's short reads run on the loop).
READ_SESSION = "tandem_read_session"


async def get_session(request: Request) -> AsyncIterator[Session]:
    # An async dependency, not a sync generator: that would cost a threadpool hop to open the
    # session and another to close it. Opening connects nothing (SQLAlchemy connects on the
    # first query). Closing is on the loop too: on PostgreSQL that waits for the ROLLBACK's
    # round trip, but a hop to wait for it elsewhere cost ~2 ms of CPU per request under load
    # (docs/BENCHMARKS.md, "Issue 15, round 2").
    engine: Engine = request.app.state.engine
    if request.method in ("GET", "HEAD"):
        session = Session(engine, expire_on_commit=False, info={READ_SESSION: engine})
        try:
            yield session
        finally:
            session.close()
        return
    if not is_sqlite(engine):
        session = write_session(engine)
        try:
            yield session
        finally:
            session.close()
        return
    # SQLite: a write request holds the write lock (BEGIN IMMEDIATE) from its first query to
    # its commit, across several threadpool hops (dependencies, route, response). With many
    # writers, every pool thread can end up waiting on the lock while the holder waits for a
    # thread: nothing moves until busy_timeout, then "database is locked". Write requests of
    # this process therefore take turns here, on the event loop, holding no thread; reads
    # (WAL) are not held back.
    async with write_gate():
        session = write_session(engine)
        try:
            yield session
        finally:
            session.close()


async def in_write_session(engine: Engine, function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run `function(session, **kwargs)` in a write session, in one threadpool hop, SQLite
    writers of this process taking turns as in get_session; `function` commits, and whatever
    it left uncommitted is rolled back. Keeps slow work (a password hash) out of the turn."""

    def run() -> T:
        with write_session(engine) as session:
            return function(session, **kwargs)

    if is_sqlite(engine):
        async with write_gate():
            return await run_in_threadpool(run)
    return await run_in_threadpool(run)


async def in_write_connection(engine: Engine, function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run `function(connection, **kwargs)` on a connection whose transaction takes SQLite's
    write lock at BEGIN (as write_session's), in one threadpool hop; `function` commits, and
    whatever it left uncommitted is rolled back.

    For the busiest write routes: the whole use case (authentication included) runs on one
    worker thread, so the SQLite write lock is held for one hop, not for every dependency's,
    and without an ORM session's bookkeeping; on SQLite the writers of this process take turns
    first, as in get_session.
    """

    def run() -> T:
        with write_engine(engine).connect() as connection:
            return function(connection, **kwargs)

    if is_sqlite(engine):
        async with write_gate():
            return await run_in_threadpool(run)
    return await run_in_threadpool(run)


SessionDep = Annotated[Session, Depends(get_session)]
