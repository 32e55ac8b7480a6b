"""The ordinary authenticated routes under load: who is asking, membership, the session and the
answer's validation cost no threadpool hop on a SQLite file; the route body costs one, or none
for a `short_read` GET such as the couples list (api/access.py's OneHop, core/loop_db.lookup
and read_on_loop, core/db.get_session). Counted at anyio's to_thread.run_sync, which
Starlette's run_in_threadpool and FastAPI's sync dependencies use: the code before this gave 3
(couples list) and 5 (notes list, check-in create)."""

import functools
import sqlite3
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from tandem.core import loop_db
from tandem.core.db import READ_SESSION
from tests.conftest import database_kind
from tests.factories import make_world

SQLITE = database_kind() == "sqlite"
sqlite_only = pytest.mark.skipif(not SQLITE, reason="the loop serves SQLite files only")


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    counted: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(function: Any, *args: Any, **kwargs: Any) -> Any:
        counted.append(getattr(function, "__qualname__", repr(function)))
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    yield counted


def test_the_measured_routes_hop_once_or_not_at_all(app: FastAPI, hops: list[str]) -> None:
    w = make_world(app)
    a = w.partner_a
    path = f"/api/couples/{w.couple_id}"
    # Warm up (the library, the claims cache), then count one request each.
    assert a.get("/api/couples").status_code == 200
    assert a.post(f"{path}/notes", json={"body": "hello"}).status_code == 201
    # PostgreSQL: the user (and the membership with it) in one hop, the route body in another.
    for method, url, body, code, on_sqlite, on_postgresql in (
        ("GET", "/api/couples", None, 200, 0, 2),
        # the notes list records who read whose notes (audit.record_reads), a write: one hop
        ("GET", f"{path}/notes", None, 200, 1, 2),
        ("POST", f"{path}/checkins", {"text": "fine"}, 201, 1, 2),
    ):
        hops.clear()
        answer = a.request(method, url, json=body)
        assert answer.status_code == code, answer.text
        assert len(hops) == (on_sqlite if SQLITE else on_postgresql), (url, hops)


def test_refusals_hop_not_at_all_on_sqlite_once_elsewhere(app: FastAPI, hops: list[str]) -> None:
    w, other = make_world(app), make_world(app)
    assert w.partner_a.get("/api/couples").status_code == 200
    hops.clear()
    assert other.partner_a.get(f"/api/couples/{w.couple_id}/notes").status_code == 404
    assert (
        w.therapist.post(f"/api/couples/{w.couple_id}/checkins", json={"text": "x"}).status_code
        == 403
    )
    assert len(hops) == (0 if SQLITE else 2), hops


class _Locked:
    """A loop engine whose database is locked by someone else (busy_timeout 0 answers at once)."""

    def connect(self) -> Any:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))


@sqlite_only
def test_a_lock_on_the_loop_falls_back_to_one_hop_with_the_same_answer(
    app: FastAPI, hops: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_world(app)
    a = w.partner_a
    notes = f"/api/couples/{w.couple_id}/notes"
    assert a.post(notes, json={"body": "hello", "visibility": "partner"}).status_code == 201
    free = (a.get("/api/couples"), a.get(notes), w.therapist.get(notes))
    monkeypatch.setattr(loop_db, "_loop_engine", lambda engine: _Locked())
    monkeypatch.setattr(loop_db, "_loop_reads", lambda engine: _Locked())
    hops.clear()
    locked = (a.get("/api/couples"), a.get(notes), w.therapist.get(notes))
    for before, after in zip(free, locked, strict=True):
        assert (after.status_code, after.json()) == (before.status_code, before.json())
    # the user and the membership read in a hop each, then the route body (the couples list's
    # short read on the loop was refused too: in a hop)
    assert len(hops) == 2 + 3 + 3, hops


@sqlite_only
def test_a_short_read_that_writes_after_all_is_done_again_in_a_hop(
    app: FastAPI, engine: Engine, hops: list[str]
) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE loop_probe (x INTEGER)"))
    try:
        calls: list[int] = []

        def body(session: Session) -> None:
            calls.append(1)
            session.execute(text("INSERT INTO loop_probe VALUES (1)"))
            session.commit()

        with Session(engine, info={READ_SESSION: engine}) as session:
            anyio.run(
                functools.partial(loop_db.read_on_loop, engine, session, body, session=session)
            )
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM loop_probe")).scalar() == 1
        assert (len(calls), len(hops)) == (2, 1)  # refused on the loop (query_only), then a hop
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE loop_probe"))
