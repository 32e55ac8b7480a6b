"""Private preparation sections live apart from shared ones (private_prep_section), as private
journal entries do; the migration moved the ones written before, and they still open."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tandem import migrations
from tandem.main import create_app
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind, make_settings
from tests.factories import World, make_world
from tests.test_prep import book, prepare, shared


def _count(engine: Engine, table: str, author_id: str) -> int:
    author = author_id.replace("-", "") if engine.dialect.name == "sqlite" else author_id
    with engine.connect() as connection:
        return connection.execute(
            text(f"SELECT count(*) FROM {table} WHERE author_id = :a"),  # noqa: S608
            {"a": author},
        ).scalar_one()


def _mine(actor, w: World) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    sections = actor.get(f"/api/couples/{w.couple_id}/prep").json()["sections"]
    return {s["key"]: (s["text"], s["visibility"]) for s in sections if s["text"]}


def test_private_sections_are_stored_apart_and_move_with_their_visibility(
    app: FastAPI, engine: Engine
) -> None:
    w = make_world(app)
    book(w)
    prepare(
        w.partner_a,
        w,
        [
            {"key": "concern", "text": "only mine", "visibility": "private"},
            {"key": "onset", "text": "for the therapist", "visibility": "therapist"},
        ],
    )
    author = w.partner_a.id
    assert _count(engine, "private_prep_section", author) == 1
    assert _count(engine, "prep_section", author) == 1

    # Shared now, then private again: each time it changes tables, and keeps its text.
    prepare(w.partner_a, w, [{"key": "concern", "text": "only mine", "visibility": "care_team"}])
    assert _count(engine, "private_prep_section", author) == 0
    assert "only mine" in {s["text"] for p in shared(w.partner_b, w) for s in p["sections"]}
    prepare(w.partner_a, w, [{"key": "concern", "text": "only mine", "visibility": "private"}])
    assert _count(engine, "private_prep_section", author) == 1
    assert "only mine" not in str(shared(w.partner_b, w)) + str(shared(w.therapist, w))
    assert _mine(w.partner_a, w) == {
        "concern": ("only mine", "private"),
        "onset": ("for the therapist", "therapist"),
    }
    exported = w.partner_a.get("/api/me/export").text
    assert "only mine" in exported
    assert w.partner_a.delete_account().status_code == 204
    assert _count(engine, "private_prep_section", author) == 0


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    if database_kind() == "postgresql":
        name = f"tandem_scratch_{uuid.uuid4().hex[:10]}"
        yield _create_pg_database(name)
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path}/scratch.db"


def test_the_migration_moves_private_sections_and_they_still_open(
    scratch_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path / "data", scratch_url))
    engine = app.state.engine
    try:
        migrations.upgrade(engine)
        w = make_world(app)
        book(w)
        prepare(
            w.partner_a,
            w,
            [
                {"key": "concern", "text": "kept to myself", "visibility": "private"},
                {"key": "onset", "text": "shared with care", "visibility": "care_team"},
            ],
        )
        before = _mine(w.partner_a, w)
        # Back to where private sections lived with the shared ones...
        migrations.downgrade(engine, "checkin_references")
        assert _count(engine, "prep_section", w.partner_a.id) == 2
        # ...and forward: the migration moves them out again, and they open as before.
        migrations.upgrade(engine)
        assert _count(engine, "private_prep_section", w.partner_a.id) == 1
        assert _count(engine, "prep_section", w.partner_a.id) == 1
        assert _mine(w.partner_a, w) == before
        assert "kept to myself" not in str(shared(w.therapist, w))
    finally:
        engine.dispose()
