"""The hot statements run on the driver's cursor (core/prepared.py) give exactly the rows
Connection.execute gives: the same values, types and order, on both databases; on PostgreSQL,
so do they on psycopg's async connections (core/async_pg.py), errors included."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, exc, literal_column, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from tandem.api.access import COUPLE_ACCESS
from tandem.api.plan_read import ACCESS_AND_PLAN
from tandem.core import async_pg, prepared
from tandem.core.db import UTCDateTime
from tandem.core.prepared import BEGIN, Prepared, Steps
from tandem.core.security import read_access_token
from tandem.plans.plan_answer import PLAN
from tandem.plans.practice_log_sql import CONTEXT, JOINT_CONTEXT
from tandem.reminders import outbox
from tandem.reminders.models import NotificationKind
from tests.factories import make_world, terminate_other_backends
from tests.plans_support import INDIVIDUAL, JOINT, item, log, published_week, this_monday


def _same(app: FastAPI, prepared, params: dict) -> list:  # noqa: ANN001
    with app.state.engine.connect() as connection:
        expected = [tuple(r) for r in connection.execute(prepared.statement, params).all()]
        keys = list(connection.execute(prepared.statement, params).keys())
    with app.state.engine.connect() as connection:
        rows = prepared.rows(connection, params)
    assert [tuple(r) for r in rows] == expected
    assert [[type(v) for v in r] for r in rows] == [[type(v) for v in r] for r in expected]
    assert list(prepared.keys) == keys
    if async_pg.serves(app.state.engine):
        on_loop = _async_rows(app.state.engine, prepared, params)
        assert [tuple(r) for r in on_loop] == expected
        assert [[type(v) for v in r] for r in on_loop] == [[type(v) for v in r] for r in expected]
        assert [r._fields for r in on_loop] == [r._fields for r in rows]
    return rows


def _one(prepared: Prepared, params: dict) -> Steps[list]:
    rows = yield prepared, params
    return rows


def _async_rows(engine: Engine, prepared: Prepared, params: dict) -> list:
    # A loop of its own, as each test client's: the pool serves any loop.
    return asyncio.run(async_pg.pool(engine).run(_one(prepared, params)))


def test_the_hot_statements_give_the_rows_sqlalchemy_gives(app: FastAPI) -> None:
    world = make_world(app)
    week = this_monday() - timedelta(weeks=1)
    plan = published_week(world, week, [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    joint, solo = (i["id"] for i in plan["items"])
    said = log(world.partner_a, joint, done_on=str(week)).json()
    assert (
        world.partner_b.post(
            f"/api/sessions/{said['id']}/dispute", json={"reason": "No"}
        ).status_code
        == 200
    )
    client_id = str(uuid.uuid4())
    log(world.partner_a, solo, client_id, done_on=str(week))
    waiting = log(world.partner_a, joint, done_on=str(week + timedelta(days=1))).json()
    # The other partner's quiet hours come with a joint write's JOINT_CONTEXT query.
    quiet = {"enabled": False, "times": [], "quiet_hours": {"start": "22:00", "end": "07:00"}}
    quiet |= {"timezone": "America/New_York", "weekdays": [0, 1, 2, 3, 4, 5, 6]}
    assert world.partner_b.put("/api/me/reminders", json=quiet).status_code == 200
    claims = read_access_token(world.partner_a.token, app.state.settings)
    couple = uuid.UUID(world.couple_id)
    for couple_id in (couple, uuid.uuid4(), None):
        rows = _same(
            app,
            COUPLE_ACCESS,
            {"sign_in_id": claims.sign_in_id, "user_id": claims.user_id, "couple_id": couple_id},
        )
    assert rows  # the sign-in, without a couple
    rows = _same(app, PLAN, {"couple_id": couple, "week_start": week})
    assert len({r.log_id for r in rows}) == 3
    assert _same(app, PLAN, {"couple_id": couple, "week_start": this_monday()}) == []
    access = {"sign_in_id": claims.sign_in_id, "user_id": claims.user_id}
    for couple_id, weeks in (
        (couple, (week, this_monday())),
        (couple, (None, None)),
        (uuid.uuid4(), (week, week)),
        (None, (week, week)),
    ):
        rows = _same(
            app,
            ACCESS_AND_PLAN,
            access | {"couple_id": couple_id, "week_a": weeks[0], "week_b": weeks[1]},
        )
    assert rows  # the sign-in, without a couple
    a, b = uuid.UUID(world.partner_a.id), uuid.UUID(world.partner_b.id)
    for user, other, found in (
        (a, b, ([("22:00", "07:00", "America/New_York")], [None])),
        (b, a, ([(None, None, None)], [uuid.UUID(waiting["id"])])),
    ):
        day = week + timedelta(days=1)
        params = {"item_id": uuid.UUID(joint), "done_on": day, "user_id": user, "other_id": other}
        rows = _same(app, JOINT_CONTEXT, params)
        quiet, waiting_ids = found
        assert [(r.quiet_start, r.quiet_end, r.timezone) for r in rows] == quiet
        assert [r.waiting_id for r in rows] == waiting_ids
    for item_id, client in (
        (uuid.UUID(solo), uuid.UUID(client_id)),
        (uuid.UUID(joint), uuid.uuid4()),
        (None, uuid.uuid4()),
    ):
        rows = _same(
            app,
            CONTEXT,
            {
                "user_id": claims.user_id,
                "sign_in_id": claims.sign_in_id,
                "item_id": item_id,
                "client_id": client,
            },
        )


def test_a_driver_error_is_sqlalchemys_as_from_execute(app: FastAPI) -> None:
    """The app's handlers (503 for an unreachable database) and the SQLite hot paths' fallback
    (core/loop_db.py) recognise SQLAlchemy's exceptions, not the driver's."""
    broken = Prepared(select(literal_column("nonexistent_column")))
    with app.state.engine.connect() as connection, pytest.raises(exc.DBAPIError) as raised:
        broken.rows(connection, {})
    assert isinstance(raised.value.orig, app.state.engine.dialect.loaded_dbapi.Error)


def _needs_postgresql(engine: Engine) -> None:
    if not async_pg.serves(engine):
        pytest.skip("needs PostgreSQL")


def test_on_the_async_connection_a_driver_error_is_sqlalchemys(app: FastAPI) -> None:
    engine = app.state.engine
    _needs_postgresql(engine)
    broken = Prepared(select(literal_column("nonexistent_column")))
    with pytest.raises(exc.ProgrammingError) as raised:
        _async_rows(engine, broken, {})
    assert isinstance(raised.value.orig, engine.dialect.loaded_dbapi.Error)
    assert not raised.value.connection_invalidated
    assert raised.value.statement is not None and "nonexistent_column" in raised.value.statement
    # The connection is whole after a statement's error: it serves the next one.
    assert _async_rows(engine, Prepared(select(literal_column("1").label("one"))), {}) == [(1,)]


def test_a_dead_connection_is_invalidated_and_the_read_made_again(app: FastAPI) -> None:
    """As SQLAlchemy's pool on a disconnect: the error says the connection was invalidated, the
    pool's older connections are dropped, and run_steps reads once more on a new one."""
    engine = app.state.engine
    _needs_postgresql(engine)
    one = Prepared(select(literal_column("1").label("one")))
    pool = async_pg.pool(engine)
    assert _async_rows(engine, one, {}) == [(1,)]  # an idle connection in the pool
    assert terminate_other_backends(engine.url) > 0
    with pytest.raises(exc.OperationalError) as raised:
        _async_rows(engine, one, {})
    assert raised.value.connection_invalidated
    assert pool._idle == []  # noqa: SLF001 - the pool's state is what is tested

    assert _async_rows(engine, one, {}) == [(1,)]
    assert terminate_other_backends(engine.url) > 0
    made: list[int] = []

    def steps() -> Steps[list]:
        made.append(1)
        return _one(one, {})

    assert asyncio.run(async_pg.run_steps(engine, steps)) == [(1,)]
    assert len(made) == 2


def test_a_down_database_is_a_503_error_at_once(app: FastAPI) -> None:
    """A connection that cannot be made is SQLAlchemy's OperationalError (errors.py: 503) at
    once, as from the ordinary engine's pool: nothing waits for a background reconnection."""
    _needs_postgresql(app.state.engine)
    unreachable = create_engine(app.state.engine.url.set(host="127.0.0.1", port=1))
    with pytest.raises(exc.OperationalError) as raised:
        asyncio.run(
            async_pg.run_steps(
                unreachable, lambda: _one(Prepared(select(literal_column("1").label("one"))), {})
            )
        )
    assert not raised.value.connection_invalidated
    unreachable.dispose()


def test_steps_that_begin_are_committed_on_an_answer_rolled_back_otherwise(app: FastAPI) -> None:
    """prepared.BEGIN: the driver ends the transaction the steps began, a COMMIT when they
    answer, a ROLLBACK when they answer None or raise; the connection serves the next steps."""
    engine = app.state.engine
    _needs_postgresql(engine)
    world = make_world(app)
    insert = outbox.INSERT_EVENT["postgresql"]

    def writing(answer: str, *, fail: bool = False) -> Steps[str | None]:
        event = outbox.Event(uuid.UUID(world.partner_a.id), NotificationKind.reminder, {}, answer)
        yield BEGIN, {}
        yield insert, event.row(datetime.now(UTC), None)
        if fail:
            raise ValueError("refused after the write")
        return None if answer.endswith(":none") else answer

    def kept() -> list[str]:
        with engine.connect() as connection:
            found = connection.execute(
                select(outbox.TABLE.c.dedupe_key).where(
                    outbox.TABLE.c.dedupe_key.startswith("test-steps:")
                )
            )
            return sorted(found.scalars())

    run = async_pg.pool(engine).run
    assert asyncio.run(run(writing("test-steps:one"))) == "test-steps:one"
    assert asyncio.run(run(writing("test-steps:two:none"))) is None
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(run(writing("test-steps:three", fail=True)))
    assert kept() == ["test-steps:one"]
    # Outside BEGIN a statement that is not whole is refused before it is sent.
    with pytest.raises(TypeError, match="BEGIN"):
        asyncio.run(
            run(
                _one(
                    insert,
                    outbox.Event(
                        uuid.UUID(world.partner_a.id),
                        NotificationKind.reminder,
                        {},
                        "test-steps:four",
                    ).row(datetime.now(UTC), None),
                )
            )
        )
    assert kept() == ["test-steps:one"]


def test_sqlites_utc_text_is_read_as_sqlalchemy_reads_it() -> None:
    """The fast reading of a UTCDateTime's SQLite text gives SQLAlchemy's value, and what it
    cannot read goes to SQLAlchemy's processor (the same value or the same refusal)."""
    dialect = sqlite.dialect()
    fast = prepared._result_processor(UTCDateTime(), dialect)
    slow = UTCDateTime()._cached_result_processor(dialect, None)  # what execute uses
    assert fast is not None and slow is not None
    for text_value in (
        "2026-11-30 19:33:05.123456",
        "2026-11-30 19:33:05.000000",
        "2026-11-30 19:33:05",
        "2026-03-29 02:30:00.000001",
    ):
        assert fast(text_value) == slow(text_value)
        assert fast(text_value).tzinfo is slow(text_value).tzinfo is UTC
    assert fast(None) is None
    for odd in ("2026-11-30 19:33:05+01:00", "not a time"):
        try:
            expected: object = slow(odd)
        except ValueError as error:
            expected = type(error)
        try:
            got: object = fast(odd)
        except ValueError as error:
            got = type(error)
        assert got == expected


def test_a_value_repeated_down_a_joins_rows_is_made_once_unless_it_could_change() -> None:
    """Rows of a join repeat the joined-to row's values: an immutable one (a UUID) is made once
    and shared by the rows, a JSON value is made for each row (one row's change stays its own);
    the rows are Connection.execute's all the same."""
    from sqlalchemy import JSON, Column, MetaData, Table, Uuid

    table = Table("t", MetaData(), Column("who", Uuid), Column("what", JSON), Column("n", Uuid))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    who = uuid.uuid4()
    values = [{"who": who, "what": {"a": 1}, "n": uuid.uuid4()} for _ in range(3)]
    query = Prepared(select(table.c.who, table.c.what, table.c.n).order_by(table.c.n))
    with engine.begin() as connection:
        connection.execute(table.insert(), values)
        expected = [tuple(r) for r in connection.execute(query.statement).all()]
        rows = query.rows(connection, {})
    assert [tuple(r) for r in rows] == expected
    assert rows[0].who is rows[1].who is rows[2].who == who
    assert rows[0].what == rows[1].what and rows[0].what is not rows[1].what
    assert len({id(r.n) for r in rows}) == 3
