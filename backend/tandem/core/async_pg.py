"""PostgreSQL's hot reads on the event loop itself, on psycopg 3's AsyncConnection: no thread hop.

Under load a hop to a thread cost a hot read more CPU than its statements (docs/BENCHMARKS.md,
"Issue 15"): the threads and the loop pass the GIL around at every round trip's wait. Here the
loop sends a statement and serves other requests until its answer comes. A read is written once
as core/prepared.py's steps; `run_steps` drives them here, `prepared.run_steps` on a Connection.

The connections are a small pool of this module's own, in autocommit (no BEGIN and ROLLBACK
round trips: each statement sees its own snapshot, as the threaded hot reads in core/loop_db.py
and the ordinary routes under READ COMMITTED) and without a ping (a round trip per request).
psycopg prepares a statement on the server once a connection has run it `prepare_threshold`
times (5), as on the ordinary engine's connections.

Why not psycopg_pool: it connects in background tasks, so while the database is down a request
waits out the pool's whole timeout before its 503 (measured: 3 of 3 s), where the ordinary
engine's pool fails at once; and its tasks tie a pool to one event loop, while the tests run a
loop per request (Starlette's TestClient without its lifespan). This pool connects in the request
that needs a connection (a failure is that request's 503, at once), keeps nothing between
requests but idle connections, and so serves any loop: a connection is used by one request at a
time, and psycopg's AsyncConnection takes the running loop at each wait. Each loop may have
`SIZE` connections out (a server has one loop); a request waits up to `TIMEOUT` for one.

A connection found dead (a restarted server, a killed backend) invalidates the pool, as
SQLAlchemy's does on a disconnect: every connection made before is closed rather than used
again (they are likely dead too); the read is then run once more, on a new connection.
"""

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from tandem.core.prepared import Command, Steps

T = TypeVar("T")

# Connections a loop may have out at once. The loop's CPU, not the database, bounds the hot
# reads: a few statements in flight keep it busy (docs/BENCHMARKS.md, "Issue 15, round 3").
SIZE = 8
# Seconds a request waits for a connection before its 503, as the ordinary engine's pool_timeout.
TIMEOUT = 10.0
_IDLE = TransactionStatus.IDLE
_INTRANS = TransactionStatus.INTRANS
_INERROR = TransactionStatus.INERROR
END = {how: Command(how) for how in ("COMMIT", "ROLLBACK")}


def serves(engine: Engine) -> bool:
    """Whether `engine`'s reads can run here (PostgreSQL through psycopg 3)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


class Pool:
    def __init__(self, engine: Engine, *, size: int = SIZE, timeout: float = TIMEOUT) -> None:
        self.engine = engine
        self.size = size
        self.timeout = timeout
        # What the engine's own connections are made with (the URL's parameters and SQLAlchemy's
        # adapters for psycopg): the same values come back as on the ordinary engine.
        args, self._kwargs = engine.dialect.create_connect_args(engine.url)
        self._conninfo: str = args[0] if args else ""
        self._idle: list[_Held] = []
        # Bumped by a disconnect and by dispose(): a connection of an older generation is
        # closed instead of being used again.
        self._generation = 0
        # Several loops (tests: one per client, in threads of their own) may share the pool.
        self._lock = threading.Lock()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, steps: Steps[T]) -> T:
        """`steps` driven on one connection of the pool."""
        gate = self._gate()
        if gate.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await gate.acquire()
            except TimeoutError:
                raise exc.TimeoutError(
                    f"no connection free in {self.timeout:.0f} s (async_pg.SIZE {self.size})"
                ) from None
        else:
            await gate.acquire()  # free: returns at once
        try:
            held = await self._take()
            try:
                return await _drive(held.cursor, self.engine, steps)
            except exc.DBAPIError as error:
                if error.connection_invalidated:
                    await self.invalidate()
                raise
            finally:
                await self._give_back(held)
        finally:
            gate.release()

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            with self._lock:
                gate = self._gates.setdefault(loop, asyncio.Semaphore(self.size))
        return gate

    async def _take(self) -> "_Held":
        with self._lock:
            if self._idle:
                return self._idle.pop()  # the last returned: the warmest
        try:
            connection = await AsyncConnection.connect(
                self._conninfo, autocommit=True, **self._kwargs
            )
        except self.engine.dialect.loaded_dbapi.Error as error:
            # As the ordinary engine's pool: SQLAlchemy's error for it (a 503, errors.py).
            raise exc.DBAPIError.instance(
                None,
                None,
                error,
                self.engine.dialect.loaded_dbapi.Error,
                hide_parameters=self.engine.hide_parameters,
                dialect=self.engine.dialect,
            ) from error
        return _Held(self._generation, connection, connection.cursor())

    async def _give_back(self, held: "_Held") -> None:
        # A statement cut short (the request cancelled) leaves the connection busy: closed.
        connection = held.connection
        if not connection.closed and connection.pgconn.transaction_status == _IDLE:
            with self._lock:
                if held.generation == self._generation:
                    self._idle.append(held)
                    return
        await connection.close()

    async def invalidate(self) -> None:
        """Every connection made so far is closed, the idle ones now, the others when given
        back (a disconnect: they are likely gone too; dispose(): the app stops)."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for held in idle:
            await held.connection.close()


@dataclass(frozen=True, slots=True)
class _Held:
    """A connection of the pool, the generation it belongs to, and its one cursor."""

    generation: int
    connection: AsyncConnection[Any]
    cursor: AsyncCursor[Any]


async def _drive(cursor: AsyncCursor[Any], engine: Engine, steps: Steps[T]) -> T:
    """As prepared.run_steps, each statement awaited on `cursor`. A transaction the steps
    began (prepared.BEGIN) ends here: committed when they answer, rolled back when they answer
    None or raise (a connection left in a transaction, the request cancelled, is closed by
    _give_back)."""
    try:
        statement, params = next(steps)
        while True:
            rows = await statement.rows_async(cursor, engine, params)
            try:
                statement, params = steps.send(rows)
            except StopIteration as done:
                answer: T = done.value
                break
    except Exception:
        if _began(cursor):
            with contextlib.suppress(Exception):  # the first error is the one to answer
                await END["ROLLBACK"].rows_async(cursor, engine, {})
        raise
    if _began(cursor):
        await END["ROLLBACK" if answer is None else "COMMIT"].rows_async(cursor, engine, {})
    return answer


def _began(cursor: AsyncCursor[Any]) -> bool:
    return cursor.connection.info.transaction_status in (_INTRANS, _INERROR)


def pool(engine: Engine) -> Pool:
    """`engine`'s pool, made at its first use (no connection before a request needs one)."""
    found = getattr(engine, "_tandem_async_pool", None)
    if found is None:
        found = Pool(engine)
        engine._tandem_async_pool = found  # type: ignore[attr-defined]  # kept on its engine
    assert isinstance(found, Pool)
    return found


async def run_steps(engine: Engine, make: Callable[[], Steps[T]]) -> T:
    """The steps `make()` gives, driven on the loop on a connection of `engine`'s pool; made
    and driven once more, on a new connection, when the connection was found dead."""
    hot = pool(engine)
    try:
        return await hot.run(make())
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return await hot.run(make())


async def dispose(engine: Engine) -> None:
    """Closes `engine`'s idle connections (the app's lifespan, at its end); the pool stays
    usable, as a disposed engine's."""
    found = getattr(engine, "_tandem_async_pool", None)
    if isinstance(found, Pool):
        await found.invalidate()
