"""A Core SELECT (or an INSERT or UPDATE ... RETURNING) compiled once per dialect and run on
the driver's cursor.

`Connection.execute` of a prebuilt statement still costs ~60–100 µs of Python per call before
and after the database's own work (the statement's cache key and its lookup, an execution
context, a Result and its row objects); on SQLite that is more than the query. A `Prepared`
statement pays that once: the SQL text, the order of its parameters and each column's result
processor are taken from SQLAlchemy's own compilation for the dialect, so the same SQL runs with
the same parameter values and gives the same Python values (tests/test_prepared.py holds each
hot statement to Connection.execute's rows), as plain named tuples.

A read runs in the connection's current transaction, if any (on a SQLite connection in
autocommit: as a statement of its own); a write begins the connection's transaction first, as
SQLAlchemy's autobegin would. On PostgreSQL a read also runs on psycopg's AsyncConnection
(`rows_async`, driven by core/async_pg.py), with the same SQL, processors and errors.
"""

import functools
import uuid
from collections import namedtuple
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from psycopg.pq import TransactionStatus
from sqlalchemy import Uuid, exc
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql import Select, sqltypes
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate
from sqlalchemy.types import TypeEngine

from tandem.core.db import UTCDateTime, as_utc

if TYPE_CHECKING:
    from psycopg import AsyncCursor

Processor = Callable[[Any], Any] | None
T = TypeVar("T")

# A read (or a write) written once for any driver: it yields (statement, parameters), is sent
# the rows, and returns its answer. `run_steps` drives it on a connection; an async driver can
# drive the same steps without a thread (the rules stay in one place). Steps that write more
# than one `whole` statement yield BEGIN first: the driver then ends that transaction, with a
# COMMIT when the steps give an answer, with a ROLLBACK when they give None (the caller does
# the work another way) or raise.
Steps = Generator[tuple["Prepared | Command", dict[str, Any]], list[Any], T]


class Command:
    """A statement without parameters or rows (BEGIN, COMMIT, ROLLBACK) as a step."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def rows(self, connection: Connection, _params: dict[str, Any]) -> list[Any]:
        # On a Connection only BEGIN is a step: its steps run in its transaction, which its
        # owner ends (as for any write through `rows`).
        if self.sql != "BEGIN":
            raise TypeError("a Connection's transaction is ended by its owner")
        if not connection.in_transaction():
            connection.begin()
        return []

    async def rows_async(
        self, cursor: "AsyncCursor[Any]", engine: Engine, _params: dict[str, Any]
    ) -> list[Any]:
        try:
            await cursor.execute(self.sql)
        except engine.dialect.loaded_dbapi.Error as error:
            raise _sqlalchemys(error, self.sql, None, engine, cursor) from error
        return []


BEGIN = Command("BEGIN")


def run_steps(connection: Connection, steps: Steps[T]) -> T:
    """`steps`, each statement run on `connection`: their answer."""
    try:
        statement, params = next(steps)
        while True:
            statement, params = steps.send(statement.rows(connection, params))
    except StopIteration as done:
        answer: T = done.value
        return answer


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # qmark (SQLite): the parameters in order; pyformat (psycopg): by name
    positional: tuple[tuple[str, Processor], ...] | None
    named: tuple[tuple[str, Processor], ...]
    defaults: dict[str, Any]  # values bound in the statement itself (a status, say)
    results: tuple[Processor, ...]
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # the results' with a processor
    # Of those, the columns whose values are immutable (a UUID, a timestamp, a date, text): a
    # value repeated down the rows is processed once and shared (see _made).
    shared: frozenset[int]


class Prepared:
    def __init__(
        self,
        statement: Select[*tuple[Any, ...]]
        | ReturningInsert[*tuple[Any, ...]]
        | ReturningUpdate[*tuple[Any, ...]],
        *,
        whole: bool = False,
    ) -> None:
        """`whole`: a write that is all or nothing by itself, so it may run outside a
        transaction (rows_async, in autocommit)."""
        self.statement = statement
        self.whole = whole
        # A SELECT's columns, or what an INSERT or UPDATE ... RETURNING returns.
        self.columns = list(statement.exported_columns)
        names = statement.exported_columns.keys()  # the labels (iterating gives the columns)
        self.keys = tuple(str(name) for name in names)
        self.writes = not isinstance(statement, Select)
        # A name list known only at run time: the rows are Any to the type checker anyway.
        self.row: Any = namedtuple("Row", self.keys)  # type: ignore[misc]  # dynamic fields
        self._make = functools.partial(tuple.__new__, self.row)  # a row from its values
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=dialect)
        if (
            compiled.post_compile_params
            or compiled.literal_execute_params
            or getattr(compiled, "insert_prefetch", None)
            or getattr(compiled, "postfetch", None)
        ):
            # Values SQLAlchemy would compute per execution: not for a Prepared statement.
            raise ValueError("a Prepared statement has no expanding, literal or default values")
        binds: dict[str, Processor] = {
            name: _bind_processor(compiled.binds[name].type, dialect, process)
            for name, process in compiled._bind_processors.items()
        }
        names = sorted(set(compiled.bind_names.values()))
        positional = None
        if compiled.positiontup is not None:
            positional = tuple((name, binds.get(name)) for name in compiled.positiontup)
        defaults = {
            name: compiled.binds[name].effective_value
            for name in names
            if not compiled.binds[name].required
        }
        results = tuple(_result_processor(c.type, dialect) for c in self.columns)
        return _Compiled(
            sql=str(compiled),
            positional=positional,
            named=tuple((name, binds.get(name)) for name in names),
            defaults=defaults,
            results=results,
            processed=tuple((i, p) for i, p in enumerate(results) if p is not None),
            shared=frozenset(
                i
                for i, c in enumerate(self.columns)
                if results[i] is not None and isinstance(c.type, _IMMUTABLE)
            ),
        )

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        """The statement's rows for `params` (by the bind parameters' names)."""
        compiled = self._for(connection.dialect)
        if self.writes and not connection.in_transaction():
            # A write joins the connection's transaction (SQLAlchemy's autobegin does not see
            # the driver's cursor): what the caller rolls back is rolled back.
            connection.begin()
        arguments = _arguments(compiled, params)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
            fetched = cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as error:
            # As Connection.execute: the driver's error becomes SQLAlchemy's (OperationalError,
            # IntegrityError, ...), a lost connection is invalidated; the app's handlers and
            # core/loop_db.py's fallbacks see what they would see from SQLAlchemy.
            connection._handle_dbapi_exception(error, compiled.sql, arguments, cursor, None)
            raise  # pragma: no cover - _handle_dbapi_exception always raises
        finally:
            cursor.close()
        return self._made(compiled, fetched)

    async def rows_async(
        self, cursor: "AsyncCursor[Any]", engine: Engine, params: dict[str, Any]
    ) -> list[Any]:
        """As `rows`, a SELECT (or a `whole` write) on a cursor of psycopg's AsyncConnection (in
        autocommit: core/async_pg.py) for `engine`'s dialect: the same SQL, parameters, values
        and errors.
        The cursor is the caller's, used again: a new one per statement costs its adapters."""
        if self.writes and not self.whole and not _in_transaction(cursor):
            raise TypeError("rows_async writes a statement that is not whole only after BEGIN")
        dialect = engine.dialect
        compiled = self._for(dialect)
        arguments = _arguments(compiled, params)
        try:
            await cursor.execute(compiled.sql, arguments)
            fetched = await cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            raise _sqlalchemys(error, compiled.sql, arguments, engine, cursor) from error
        return self._made(compiled, fetched)

    def _made(self, compiled: _Compiled, fetched: Sequence[Sequence[Any]]) -> list[Any]:
        make = self._make
        processed = compiled.processed
        if not processed:
            return [make(r) for r in fetched]
        # Rows of a join repeat the joined-to row's values (the sign-in, the item, a replayed
        # log): an immutable one is made once and shared by the rows.
        shared = compiled.shared if len(fetched) > 1 else frozenset()
        last: dict[int, tuple[Any, Any]] = {}  # by column: its last raw value and what it made
        rows = []
        for r in fetched:
            # As SQLAlchemy's, but a NULL stays None without a call: every processor of
            # Tandem's column types gives None for None (UTCDateTime's included), and the
            # columns of the outer joins' missing rows are many.
            row = list(r)
            for i, process in processed:
                value = row[i]
                if value is None:
                    continue
                if i not in shared:
                    row[i] = process(value)
                    continue
                before = last.get(i)
                if before is not None and before[0] == value:
                    row[i] = before[1]
                else:
                    row[i] = made = process(value)
                    last[i] = (value, made)
            rows.append(make(row))
        return rows


def _sqlalchemys(
    error: Any, sql: str, arguments: Any, engine: Engine, cursor: "AsyncCursor[Any]"
) -> exc.StatementError:
    """What Connection.execute raises for a driver's error (no Connection here to do it):
    SQLAlchemy's exception, parameters hidden as the engine hides them, and
    `connection_invalidated` when the connection is gone, which core/async_pg.py retries and
    errors.py answers with a 503."""
    dialect = engine.dialect
    made: exc.StatementError = exc.DBAPIError.instance(
        sql,
        arguments,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=engine.hide_parameters,
        # The dialect's test (the connection closed or broken), typed for sync DBAPI objects:
        # psycopg's async ones have the same attributes.
        connection_invalidated=dialect.is_disconnect(
            error, cast(Any, cursor.connection), cast(Any, cursor)
        ),
        dialect=dialect,
    )
    return made


def _in_transaction(cursor: "AsyncCursor[Any]") -> bool:
    return cursor.connection.info.transaction_status == TransactionStatus.INTRANS


def _arguments(compiled: _Compiled, params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """The driver's parameters: in order (qmark) or by name (pyformat), each through its bind
    processor, with the values bound in the statement itself."""
    values = compiled.defaults | params if compiled.defaults else params
    if compiled.positional is not None:
        return [
            values[name] if process is None else process(values[name])
            for name, process in compiled.positional
        ]
    return {
        name: values[name] if process is None else process(values[name])
        for name, process in compiled.named
    }


# --- result processors -----------------------------------------------------------------------
# The same values as SQLAlchemy's processors, with less Python per value where a hot read
# turns many: on SQLite (text columns) a UUID from its 32 hex digits and a UTC timestamp in
# one call instead of a TypeDecorator's chain. tests/test_prepared.py holds every hot
# statement's rows, types included, to Connection.execute's.

# The column types whose values may be shared by rows (immutable): not JSON, say.
_IMMUTABLE = (Uuid, UTCDateTime, sqltypes.DateTime, sqltypes.Date, sqltypes.String, sqltypes.Enum)

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_from_hex(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if type(value) is not str or len(value) != 32:
        return uuid.UUID(value)  # anything else as uuid.UUID takes it (and refuses it)
    # What uuid.UUID(hex) builds, without its parsing of braces, dashes and "urn:uuid:".
    made: uuid.UUID = _new(uuid.UUID)
    _set(made, "int", int(value, 16))
    _set(made, "is_safe", _UNKNOWN)
    return made


def _utc(parse: Callable[[Any], Any], value: Any) -> Any:
    if type(value) is str:
        # SQLite's naive UTC text ("2026-11-30 19:33:05.123456") read as UTC in one C call:
        # what parse and as_utc make of it, in a sixth of the time (a plan read turns a dozen).
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            pass  # anything else as SQLAlchemy's processor takes it (and refuses it)
    return None if value is None else as_utc(parse(value))


def _utc_text(to_naive: Callable[[Any, Dialect], Any], dialect: Dialect, value: Any) -> Any:
    """UTCDateTime's value for SQLite as its processors make it (its own rule: naive UTC, a
    naive value refused), as text in SQLite's storage format."""
    naive = to_naive(value, dialect)
    return None if naive is None else naive.isoformat(" ", "microseconds")


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect, process: Processor) -> Processor:
    if (
        dialect.name == "sqlite"
        and isinstance(type_, UTCDateTime)
        and getattr(getattr(type_.dialect_impl(dialect), "impl", None), "_storage_format", None)
        == DATETIME._storage_format
    ):
        return functools.partial(_utc_text, type_.process_bind_param, dialect)
    return process


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    if dialect.name == "sqlite":
        if isinstance(type_, Uuid) and type_.as_uuid:
            return _uuid_from_hex
        if isinstance(type_, UTCDateTime):
            parse = type_.impl_instance._cached_result_processor(dialect, None)
            if parse is not None:
                return functools.partial(_utc, parse)
    elif (
        isinstance(type_, UTCDateTime)
        and type_.impl_instance._cached_result_processor(dialect, None) is None
    ):
        # PostgreSQL's driver gives datetimes (no impl processor): UTCDateTime's own
        # process_result_value, without the TypeDecorator's chain around it.
        return as_utc
    return type_._cached_result_processor(dialect, None)
