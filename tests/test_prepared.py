"""The hot statements run on the driver's cursor (core/prepared.py) give exactly the rows
Connection.execute gives: the same values, types and order, on both databases."""

import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import exc, literal_column, select

from tandem.api.access import COUPLE_ACCESS
from tandem.core.prepared import Prepared
from tandem.core.security import read_access_token
from tandem.plans.plan_answer import PLAN
from tandem.plans.practice_log_sql import CONTEXT
from tests.factories import make_world
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
    return rows


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
    assert len({r.log_id for r in rows}) == 2
    assert _same(app, PLAN, {"couple_id": couple, "week_start": this_monday()}) == []
    for item_id, client in (
        (uuid.UUID(solo), uuid.UUID(client_id)),
        (uuid.UUID(joint), uuid.uuid4()),
        (None, uuid.uuid4()),
    ):
        _same(
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
