"""Short database work without a threadpool hop: on SQLite, on the event loop itself.

Under load the threadpool hop is the largest single cost of a hot request (docs/BENCHMARKS.md,
"Load": 700–1,700 µs with 64 connections and 40 threads, more than SQLite takes for the
queries). On a SQLite file, the hot paths therefore run their statements on the event loop, on
connections of their own that never wait and never stall:

- busy_timeout 0: a lock held elsewhere (another process, a thread of this one) answers at once
  ("database is locked"); the work, undone by its rollback, is then done again in one
  threadpool hop on the ordinary engine, which waits as before;
- reads run without BEGIN (each statement sees its own snapshot, as PostgreSQL's READ
  COMMITTED does for the ordinary routes); writes take the write lock at BEGIN IMMEDIATE, and
  this process's writers take turns first (db.write_gate), as in db.in_write_connection;
- no automatic checkpoint at commit (copying the WAL into the database file takes milliseconds
  to seconds: the loop would stall, and every request's p99 with it): a `Checkpointer` thread
  checkpoints instead, every quarter of a second, and keeps the WAL near WAL_LIMIT.

On PostgreSQL every statement is a network round trip the loop must not wait on: the work stays
in one hop to a few threads of its own, and a read runs in autocommit (no BEGIN and ROLLBACK round
trips) on a pool without the ping round trip, retried once with a ping when its connection was
gone.
"""

import asyncio
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from tandem.core.db import SQLITE_PRAGMAS, is_sqlite, write_engine, write_gate

T = TypeVar("T")
log = logging.getLogger("tandem")
_NONE = object()


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None: PostgreSQL, or SQLite in memory)."""
    if not is_sqlite(engine) or engine.url.database in (None, "", ":memory:"):
        return None
    return engine.url.database


def _loop_engine(engine: Engine) -> Engine | None:
    found = getattr(engine, "_tandem_loop_engine", _NONE)
    if found is _NONE:
        path = sqlite_file(engine)
        found = None if path is None else _make_loop_engine(engine)
        engine._tandem_loop_engine = found  # type: ignore[attr-defined]  # kept on its engine
    return cast(Engine | None, found)


def _loop_reads(engine: Engine) -> Engine | None:
    """The loop's connections for route bodies that should only read (read_on_loop): with
    `query_only`, a write there fails before it writes anything, and is done again in a hop."""
    found = getattr(engine, "_tandem_loop_reads", _NONE)
    if found is _NONE:
        path = sqlite_file(engine)
        found = None if path is None else _make_loop_engine(engine, "PRAGMA query_only=1")
        engine._tandem_loop_reads = found  # type: ignore[attr-defined]  # kept on its engine
    return cast(Engine | None, found)


def _make_loop_engine(engine: Engine, *pragmas: str, pool: bool = True) -> Engine:
    # One connection is checked out at a time: the loop runs one request's work to the end.
    # pool=False: for the connections each thread keeps (_Kept), which never go back.
    sizes: dict[str, Any] = {"pool_size": 2, "max_overflow": 2} if pool else {"poolclass": NullPool}
    loop = create_engine(
        engine.url,
        connect_args={"check_same_thread": False, "timeout": 0},
        hide_parameters=True,
        **sizes,
    )

    @event.listens_for(loop, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            *SQLITE_PRAGMAS,
            "PRAGMA busy_timeout=0",
            "PRAGMA wal_autocheckpoint=0",
            *pragmas,
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(loop, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("write"):
            # On the driver's connection: through exec_driver_sql, SQLAlchemy's execution
            # machinery cost more than taking the lock. Its error is SQLAlchemy's all the same
            # ("database is locked": an OperationalError the callers redo in a hop).
            try:
                conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                conn._handle_dbapi_exception(error, "BEGIN IMMEDIATE", (), None, None)

    return loop


class _Kept:
    """One thread's reader and writer, kept between requests: checking a connection out of
    the pool and back in (SQLAlchemy's Connection, the pool's bookkeeping, its reset) cost
    more than the hot read's queries. The loop runs one request's work to its end before the
    next, so one of each per thread (the event loop's) is enough. They close with their
    thread (a test client's loop thread ends), or with the app (dispose)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader: Connection | None = None
        self.writer: Connection | None = None

    def get(self, write: bool) -> Connection:
        connection = self.writer if write else self.reader
        if connection is None or connection.closed or connection.invalidated:
            connection = (write_engine(self.engine) if write else self.engine).connect()
            if write:
                self.writer = connection
            else:
                self.reader = connection
        return connection

    def close(self) -> None:
        for connection in (self.reader, self.writer):
            if connection is not None and not connection.closed:
                connection.close()

    def __del__(self) -> None:
        self.close()


class _Held:
    """The connections each thread keeps (_Kept) for one SQLite file, on an engine of their
    own without a pool: they never go back to one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = _make_loop_engine(engine, pool=False)
        self.local = threading.local()
        self.kept: weakref.WeakSet[_Kept] = weakref.WeakSet()  # every thread's, for close()

    def connection(self, *, write: bool) -> Connection:
        kept: _Kept | None = getattr(self.local, "kept", None)
        if kept is None:
            kept = self.local.kept = _Kept(self.engine)
            self.kept.add(kept)
        return kept.get(write)

    def close(self) -> None:
        for kept in list(self.kept):
            kept.close()
        self.engine.dispose()


# By the app's engine: None for PostgreSQL or SQLite in memory.
_HELD: weakref.WeakKeyDictionary[Engine, _Held | None] = weakref.WeakKeyDictionary()


def _held(engine: Engine) -> _Held | None:
    try:
        return _HELD[engine]
    except KeyError:
        found = _HELD[engine] = None if sqlite_file(engine) is None else _Held(engine)
        return found


def _done_with(connection: Connection) -> None:
    """What a returned connection's reset would do: nothing left open for the next request."""
    if connection.in_transaction():
        connection.rollback()


def _contended(error: exc.OperationalError) -> bool:
    message = str(error.orig)
    return "locked" in message or "busy" in message


def _redo_in_hop(error: BaseException) -> bool:
    """A lock held elsewhere, or a write where only reads were expected (query_only)."""
    return isinstance(error, exc.OperationalError) and (
        _contended(error) or "readonly" in str(error.orig)
    )


def _autocommit(engine: Engine) -> Engine:
    """PostgreSQL reads without BEGIN/ROLLBACK; made once (see db.write_engine)."""
    found = getattr(engine, "_tandem_autocommit_engine", None)
    if found is None:
        found = engine.execution_options(isolation_level="AUTOCOMMIT")
        engine._tandem_autocommit_engine = found  # type: ignore[attr-defined]  # kept on its engine
    return found


# PostgreSQL's hot work runs on a few threads of its own rather than on FastAPI's 40: under
# load, 40 threads and the loop pass the GIL around for every round trip's wait.
_HOT_THREADS = 4
_executor: ThreadPoolExecutor | None = None


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_HOT_THREADS, thread_name_prefix="tandem-hot")
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)


def _hot_reads(engine: Engine) -> Engine:
    """PostgreSQL's hot reads' own small pool, in autocommit and without `pool_pre_ping` (a
    round trip on every request): a connection found dead is retried once on the ordinary
    engine, which pings (see _read)."""
    found = getattr(engine, "_tandem_hot_reads", None)
    if found is None:
        found = create_engine(
            engine.url,
            pool_size=_HOT_THREADS,
            max_overflow=_HOT_THREADS,
            pool_timeout=10,
            hide_parameters=True,
            isolation_level="AUTOCOMMIT",
        )
        engine._tandem_hot_reads = found  # type: ignore[attr-defined]  # kept on its engine
    return found


def _read(engine: Engine, function: Callable[..., T], kwargs: dict[str, Any]) -> T:
    if is_sqlite(engine):
        with engine.connect() as connection:
            return function(connection, **kwargs)
    try:
        with _hot_reads(engine).connect() as connection:
            return function(connection, **kwargs)
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    # The connection was gone (a restarted server, a killed backend): once more, with a ping.
    with _autocommit(engine).connect() as connection:
        return function(connection, **kwargs)


def _write(engine: Engine, function: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with write_engine(engine).connect() as connection:
        return function(connection, **kwargs)


async def run_read(engine: Engine, function: Callable[..., T], /, **kwargs: Any) -> T:
    """`function(connection, **kwargs)`, reading only: on the loop (SQLite file), else in one
    threadpool hop."""
    held = _held(engine)
    if held is not None:
        connection = held.connection(write=False)
        try:
            return function(connection, **kwargs)
        except exc.OperationalError as error:
            if not _contended(error):
                raise
        finally:
            _done_with(connection)
    if is_sqlite(engine):
        return await run_in_threadpool(_read, engine, function, kwargs)
    return await _in_thread(_read, engine, function, kwargs)


async def run_write(engine: Engine, function: Callable[..., T], /, **kwargs: Any) -> T:
    """`function(connection, **kwargs)` in a write transaction it commits itself (what it left
    uncommitted is rolled back): on the loop (SQLite file, the lock free), else in one
    threadpool hop, as db.in_write_connection."""
    if not is_sqlite(engine):
        return await _in_thread(_write, engine, function, kwargs)
    async with write_gate():
        held = _held(engine)
        if held is not None:
            connection = held.connection(write=True)
            try:
                return function(connection, **kwargs)
            except exc.OperationalError as error:
                if not _contended(error):
                    raise
            finally:
                _done_with(connection)
        return await run_in_threadpool(_write, engine, function, kwargs)


async def lookup(
    engine: Engine, session: Session, function: Callable[..., T | None], /, **kwargs: Any
) -> T | None:
    """`function(session, **kwargs)`, a short ORM read giving one mapped object or None (the
    access layer's who-is-asking and membership), for the request's `session` on `engine`.

    On a SQLite file it runs on the loop, in a session of its own on a loop connection (no
    BEGIN, busy_timeout 0), and the object found is merged into `session` without a query
    (`load=False`): the route gets an object of its own session, as if read there. A lock
    held elsewhere: once more in one threadpool hop on `session` itself, which waits. Elsewhere
    (PostgreSQL: network round trips the loop must not wait on) one hop on `session`."""
    loop = _loop_engine(engine)
    if loop is not None:
        try:
            with loop.connect() as connection, Session(connection) as own:
                found = function(own, **kwargs)
                if found is None:
                    return None
                merged: T = session.merge(found, load=False)
                return merged
        except exc.OperationalError as error:
            if not _contended(error):
                raise
    return await run_in_threadpool(function, session, **kwargs)


async def read_on_loop(
    engine: Engine, session: Session, function: Callable[..., T], /, **kwargs: Any
) -> T:
    """`function(**kwargs)`, a short route body that only reads through `session` (a GET's,
    on `engine`, expire_on_commit off): on a SQLite file on the loop, the session bound to a
    loop connection for the while (no BEGIN, busy_timeout 0); elsewhere in one hop.

    The loop connection goes back to its pool before returning (the commit of a transaction
    that wrote nothing, keeping the objects read): a connection held until the session's close,
    later and after other requests' work, could exhaust the loop's small pool, and the loop
    would wait on itself. A lock held elsewhere: rolled back, and once more in one hop on the
    ordinary engine, which waits; so is a body that tried to write after all (the loop's read
    connections are `query_only`: nothing was written)."""
    loop = _loop_reads(engine)
    if loop is not None:
        session.bind = loop
        try:
            found = function(**kwargs)
            session.commit()
            return found
        except BaseException as error:
            session.rollback()
            if not _redo_in_hop(error):
                raise
        finally:
            session.bind = engine
    return await run_in_threadpool(function, **kwargs)


def dispose(engine: Engine) -> None:
    held = _HELD.pop(engine, None)
    if held is not None:
        held.close()
    for name in ("_tandem_loop_engine", "_tandem_loop_reads", "_tandem_hot_reads"):
        own = getattr(engine, name, None)
        if isinstance(own, Engine):
            own.dispose()


# The WAL's size past which the checkpointer makes it start over (as journal_size_limit).
WAL_LIMIT = 64 * 1024 * 1024


class Checkpointer(threading.Thread):
    """Checkpoints a SQLite file's WAL in the background, every `every` seconds: PASSIVE (it
    never waits for a reader or a writer, so nobody waits for it).

    After a PASSIVE checkpoint has copied the whole WAL, the next writer starts the WAL over
    from its beginning, but only if no reader is reading an older part of it at that moment;
    under a steady load there always is one, so the WAL would grow without bound (700 MB in
    10 s of the write benchmark). When the WAL holds more than `limit` bytes of frames, it is
    therefore checkpointed with RESTART, which waits (up to 2 s) for those readers and makes
    the next writer start over; journal_size_limit (core/db.py) then cuts the file back.
    Writers wait for it meanwhile, in a thread (the fallback of run_write), never on the loop.
    RESTART rather than TRUNCATE, which also empties the file (to be grown again): under the
    write benchmark a TRUNCATE held writers 38–44 ms, a RESTART 14–30 ms (docs/BENCHMARKS.md,
    issue 15, round 6).
    """

    def __init__(self, path: str, every: float = 0.25, limit: int = WAL_LIMIT) -> None:
        super().__init__(name="tandem-checkpoint", daemon=True)
        self.path = path
        self.every = every
        self.limit = limit
        self.frame_bytes: int | None = None  # a WAL frame: a page and its 24-byte header
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            while not self.stopped.wait(self.every):
                self.checkpoint(connection)
        finally:
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            if self.frame_bytes is None:
                self.frame_bytes = connection.execute("PRAGMA page_size").fetchone()[0] + 24
            _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames * self.frame_bytes > self.limit:
                connection.execute("PRAGMA busy_timeout=2000")
                try:
                    connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                finally:
                    connection.execute("PRAGMA busy_timeout=0")
        except (sqlite3.Error, OSError) as error:  # busy now: the next round will do it
            log.debug("checkpoint skipped: %s", type(error).__name__)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def start_checkpointer(engine: Engine) -> Checkpointer | None:
    path = sqlite_file(engine)
    if path is None:
        return None
    checkpointer = Checkpointer(path)
    checkpointer.start()
    return checkpointer
