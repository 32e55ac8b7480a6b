"""Check-ins point at plan items and session logs by foreign key: when those go, the check-in
stays and forgets the reference; the migration clears references that already dangled."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, insert, select, text
from sqlmodel import Session

from tandem import migrations
from tandem.core.db import make_engine, utcnow, write_session
from tandem.journal.models import PrivateCheckin, SharedCheckin
from tandem.plans.models import PlanItem
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind
from tests.factories import make_world, publish_plan


def test_removing_an_item_keeps_the_check_ins_and_clears_their_references(app: FastAPI) -> None:
    world = make_world(app)
    item_id = publish_plan(app, world)
    logged = world.partner_a.post(
        f"/api/plan-items/{item_id}/sessions", json={"client_id": str(uuid.uuid4())}
    ).json()
    path = f"/api/couples/{world.couple_id}/checkins"
    about = {"plan_item_id": item_id, "session_id": logged["id"], "text": "ok"}
    for visibility in ("private", "partner"):
        answer = world.partner_a.post(path, json={**about, "visibility": visibility})
        assert answer.status_code == 201, answer.text

    # As replacing a draft's items does (and the log goes with its item).
    with write_session(app.state.engine) as session:
        session.execute(delete(PlanItem).where(PlanItem.id == uuid.UUID(item_id)))
        session.commit()

    mine = world.partner_a.get("/api/me/checkins").json()
    assert len(mine) == 2
    assert {(c["plan_item_id"], c["session_id"]) for c in mine} == {(None, None)}


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    if database_kind() == "postgresql":
        name = f"tandem_scratch_{uuid.uuid4().hex[:10]}"
        yield _create_pg_database(name)
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path}/scratch.db"


def test_the_migration_clears_references_that_already_dangled(scratch_url: str) -> None:
    engine = make_engine(scratch_url)
    try:
        migrations.upgrade(engine, "0006")
        user_id, couple_id = uuid.uuid4(), uuid.uuid4()
        now = utcnow()
        with write_session(engine) as session:
            session.execute(
                text(
                    "INSERT INTO user_account (id, email, display_name, role, timezone, "
                    "created_at) VALUES (:id, 'a@example.test', 'A', 'partner', 'UTC', :now)"
                ),
                {"id": user_id.hex if engine.dialect.name == "sqlite" else user_id, "now": now},
            )
            session.execute(
                text(
                    "INSERT INTO couple (id, label, timezone, created_at) "
                    "VALUES (:id, 'C', 'UTC', :now)"
                ),
                {"id": couple_id.hex if engine.dialect.name == "sqlite" else couple_id, "now": now},
            )
            for table in (PrivateCheckin, SharedCheckin):
                row = {
                    "id": uuid.uuid4(),
                    "couple_id": couple_id,
                    "author_id": user_id,
                    "created_at": now,
                    "updated_at": now,
                    "plan_item_id": uuid.uuid4(),  # gone long ago
                    "session_id": uuid.uuid4(),
                }
                if table is SharedCheckin:
                    row["visibility"] = "partner"
                session.execute(insert(table.__table__).values(**row))  # type: ignore[attr-defined]
            session.commit()
        migrations.upgrade(engine)
        with Session(engine) as session:
            for table in (PrivateCheckin, SharedCheckin):
                references = session.execute(select(table.plan_item_id, table.session_id)).all()
                assert references == [(None, None)], table
    finally:
        engine.dispose()
