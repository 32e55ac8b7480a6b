"""Journal texts at rest: canaries in every response, log line and export; nothing readable
on disk; ciphertext bound to its row; key rotation; one unwrap per author per request."""

import base64
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine

from tandem import cli, migrations
from tandem.core import crypto
from tandem.journal.models import PrivateNote, SharedCheckin
from tandem.main import create_app
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind, make_settings
from tests.factories import Actor, invite, login, make_world, new_client, register
from tests.journal_helpers import PLURAL, VISIBILITIES, couple_list, leave, marker, write

KINDS = ("note", "checkin")
INTEGRITY = "Stored data failed an integrity check"


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every response body each actor receives during the test, by actor id."""
    seen: dict[str, list[str]] = defaultdict(list)
    original = Actor.request

    def recording(self: Actor, method: str, url: str, **kwargs: Any) -> Any:
        answer = original(self, method, url, **kwargs)
        seen[self.id].append(answer.text)
        return answer

    monkeypatch.setattr(Actor, "request", recording)
    return seen


class TestCanaries:
    def test_every_marker_reaches_exactly_the_people_allowed(
        self, app: FastAPI, responses: dict[str, list[str]], caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        # SQLAlchemy holds its loggers at WARNING unless told: its statements are scanned too.
        caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
        w, other = make_world(app), make_world(app)
        stranger = register(app)
        a, b, t = w.partner_a, w.partner_b, w.therapist
        allowed: dict[str, set[str]] = {}

        def note(author: Actor, readers: dict[str, set[str]], kind: str, vis: str) -> dict:
            entry = write(author, w.couple_id, kind, vis)
            allowed[entry["marker"]] = {author.id} | readers[vis]
            return entry

        by_a = {
            (k, v): note(a, {"private": set(), "partner": set(), "therapist": {t.id}}, k, v)
            for k in KINDS
            for v in VISIBILITIES
            if v != "care_team"
        }
        # B's entries are read only after B has left: A keeps what B shared with them.
        for k in KINDS:
            for v in VISIBILITIES:
                readers = {
                    "private": set(),
                    "partner": {a.id},
                    "therapist": {t.id},
                    "care_team": {a.id, t.id},
                }
                note(b, readers, k, v)
        leave(b, w.couple_id)
        for k in KINDS:
            # Written while the other partner's place is empty: the newcomer comes too late.
            entry = write(a, w.couple_id, k, "care_team")
            allowed[entry["marker"]] = {a.id, t.id}
            by_a[(k, "care_team")] = entry
        newcomer = register(app, invitation_code=invite(a, w.couple_id))
        for k in KINDS:
            entry = write(newcomer, w.couple_id, k, "care_team")
            allowed[entry["marker"]] = {newcomer.id, a.id, t.id}
        # An edit keeps the readers it had.
        edited = marker("edit")
        answer = a.patch(f"/api/notes/{by_a[('note', 'partner')]['id']}", json={"body": edited})
        assert answer.status_code == 200
        allowed[edited] = {a.id}

        everyone = [a, b, t, newcomer, other.partner_a, other.therapist, stranger]
        for actor in everyone:
            for couple_id in (w.couple_id, other.couple_id):
                actor.get(f"/api/couples/{couple_id}")
                for kind in KINDS:
                    actor.get(f"/api/couples/{couple_id}/{PLURAL[kind]}")
                    for v in VISIBILITIES:
                        actor.get(f"/api/couples/{couple_id}/{PLURAL[kind]}?visibility={v}")
            for kind in KINDS:
                actor.get(f"/api/me/{PLURAL[kind]}")
            assert actor.get("/api/me/export").status_code == 200
            actor.get("/api/me/access-log")

        names = {
            x.id: n
            for x, n in zip(everyone, ["a", "b", "t", "newcomer", "o_p", "o_t", "s"], strict=True)
        }
        leaks = []
        for actor in everyone:
            received = "\n".join(responses[actor.id])
            for mark, readers in allowed.items():
                if (mark in received) != (actor.id in readers):
                    leaks.append((mark, names[actor.id], actor.id in readers))
        assert not leaks, leaks
        logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
        assert not [m for m in allowed if m in logged]
        # The scan is real: the database's debug log was captured.
        assert any(r.name.startswith("sqlalchemy") for r in caplog.records)


class TestOnDisk:
    def test_the_sqlite_files_hold_no_journal_text(self, app: FastAPI, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            pytest.skip("a file scan is for SQLite")
        control = marker("name")[:60]
        w = make_world(app)
        author = register(app, invitation_code=invite(w.therapist, make_couple(w)), name=control)
        couple_id = author.get("/api/couples").json()[0]["id"]
        marks = [write(author, couple_id, k, v)["marker"] for k in KINDS for v in VISIBILITIES]
        marks += [write(w.partner_a, w.couple_id, k, "care_team")["marker"] for k in KINDS]
        path = Path(engine.url.database or "")

        def raw() -> bytes:
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

        before = raw()
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        after = raw()
        for data in (before, after):
            for mark in marks:
                assert mark.encode() not in data
                assert mark.encode("utf-16-le") not in data
        # The scan can see plain text: the display name is not a journal text.
        assert control.encode() in before + after


def make_couple(w: Any) -> str:
    answer = w.therapist.post("/api/couples", json={"label": "Second", "timezone": "UTC"})
    assert answer.status_code == 201
    return answer.json()["id"]


class TestIntegrity:
    def test_ciphertext_moved_to_another_row_is_never_served(
        self, app: FastAPI, engine: Engine, caplog: pytest.LogCaptureFixture
    ) -> None:
        w = make_world(app)
        first = write(w.partner_a, w.couple_id, "note", "private")
        second = write(w.partner_a, w.couple_id, "note", "private")
        ids = [uuid.UUID(first["id"]), uuid.UUID(second["id"])]
        with engine.begin() as connection:
            one, two = (
                connection.execute(
                    select(PrivateNote.sealed_body).where(PrivateNote.id == i)  # type: ignore[arg-type]
                ).scalar_one()
                for i in ids
            )
            for i, sealed in zip(ids, (two, one), strict=True):
                connection.execute(
                    update(PrivateNote).where(PrivateNote.id == i).values(sealed_body=sealed)  # type: ignore[arg-type]
                )
        caplog.set_level(logging.DEBUG)
        for url in (f"/api/couples/{w.couple_id}/notes", "/api/me/notes", "/api/me/export"):
            answer = w.partner_a.get(url)
            assert answer.status_code == 500
            assert answer.json() == {"detail": INTEGRITY}
        assert "failed to decrypt" in caplog.text
        assert first["marker"] not in caplog.text and second["marker"] not in caplog.text

    def test_a_field_moved_within_its_row_fails_too(self, app: FastAPI, engine: Engine) -> None:
        w = make_world(app)
        entry = write(w.partner_a, w.couple_id, "checkin", "care_team")
        entry_id = uuid.UUID(entry["id"])
        with engine.begin() as connection:
            row = connection.execute(
                select(SharedCheckin.sealed_text, SharedCheckin.sealed_obstacles).where(
                    SharedCheckin.id == entry_id  # type: ignore[arg-type]
                )
            ).one()
            connection.execute(
                update(SharedCheckin)
                .where(SharedCheckin.id == entry_id)  # type: ignore[arg-type]
                .values(sealed_text=row.sealed_obstacles, sealed_obstacles=row.sealed_text)
            )
        for reader in (w.partner_a, w.partner_b, w.therapist):
            answer = reader.get(f"/api/couples/{w.couple_id}/checkins")
            assert answer.status_code == 500
            assert entry["marker"] not in answer.text

    def test_a_list_unwraps_each_authors_key_once(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        w = make_world(app)
        for _ in range(45):
            write(w.partner_a, w.couple_id, "note", "care_team")
        for _ in range(10):
            write(w.partner_b, w.couple_id, "note", "care_team")
        calls = []
        real = crypto.unwrap

        def counting(*args: Any, **kwargs: Any) -> bytes:
            calls.append(kwargs.get("user_id"))
            return real(*args, **kwargs)

        monkeypatch.setattr(crypto, "unwrap", counting)
        assert len(couple_list(w.therapist, w.couple_id, "note")) == 50
        assert len(calls) == 2


# --- rotation -----------------------------------------------------------------------------


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """Rotation re-wraps every key in a database: it gets a database of its own."""
    if database_kind() == "postgresql":
        name = f"tandem_rotate_{uuid.uuid4().hex[:12]}"
        yield _create_pg_database(name)
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'rotate.db'}"


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _again(app: FastAPI, actor: Actor) -> Actor:
    """The same person signing in to another process."""
    fresh = Actor(new_client(app), actor.id, actor.email, actor.role, "")
    login(fresh)
    return fresh


@pytest.mark.parametrize("key_from", ["environment", "data_dir"])
def test_rotate_key_rewraps_every_data_key_and_retires_the_old_key(
    tmp_path: Path, own_database: str, monkeypatch: pytest.MonkeyPatch, key_from: str
) -> None:
    data_dir = tmp_path / "data"
    old = _key() if key_from == "environment" else None
    old_settings = make_settings(data_dir, own_database, encryption_key=old)
    old_app = create_app(old_settings)
    migrations.upgrade(old_app.state.engine)
    try:
        w = make_world(old_app)
        written = [
            write(w.partner_a, w.couple_id, "note", "private"),
            write(w.partner_b, w.couple_id, "checkin", "care_team"),
        ]
        monkeypatch.setenv("TANDEM_DATA_DIR", str(data_dir))
        monkeypatch.setenv("TANDEM_DATABASE_URL", own_database)
        monkeypatch.setenv("TANDEM_HASH_COST", "low")
        new = None
        if old is not None:
            new = _key()
            monkeypatch.setenv("TANDEM_ENCRYPTION_KEY", old)
            monkeypatch.setenv("TANDEM_NEW_ENCRYPTION_KEY", new)
        else:
            monkeypatch.delenv("TANDEM_ENCRYPTION_KEY", raising=False)
            monkeypatch.delenv("TANDEM_NEW_ENCRYPTION_KEY", raising=False)
        assert cli.main(["rotate-key"]) == 0

        with old_app.state.engine.connect() as connection:
            kek_ids = set(connection.execute(text("SELECT kek_id FROM user_data_key")).scalars())
        assert crypto.kek_id(old_settings.key_encryption_key) not in kek_ids

        new_app = create_app(make_settings(data_dir, own_database, encryption_key=new))
        try:
            assert new_app.state.settings.key_encryption_key != old_settings.key_encryption_key
            a, b = _again(new_app, w.partner_a), _again(new_app, w.partner_b)
            t = _again(new_app, w.therapist)
            assert written[0]["marker"] in str(couple_list(a, w.couple_id, "note"))
            for reader in (a, b, t):
                assert written[1]["marker"] in str(couple_list(reader, w.couple_id, "checkin"))
            # New entries work under the new key too.
            write(a, w.couple_id, "note", "partner")
        finally:
            new_app.state.engine.dispose()
        # A process still holding the old key opens nothing.
        answer = w.partner_a.get(f"/api/couples/{w.couple_id}/notes")
        assert answer.status_code == 500 and answer.json() == {"detail": INTEGRITY}
    finally:
        old_app.state.engine.dispose()


def test_wrapped_keys_and_entries_are_bound_to_their_owner_and_place() -> None:
    kek, other_kek = secrets.token_bytes(32), secrets.token_bytes(32)
    user, someone = uuid.uuid4(), uuid.uuid4()
    data_key = secrets.token_bytes(32)
    wrapped = crypto.wrap(kek, user_id=user, data_key=data_key)
    assert crypto.unwrap(kek, user_id=user, wrapped=wrapped) == data_key
    for attempt in (
        lambda: crypto.unwrap(other_kek, user_id=user, wrapped=wrapped),
        lambda: crypto.unwrap(kek, user_id=someone, wrapped=wrapped),
    ):
        with pytest.raises(InvalidTag):
            attempt()
    assert crypto.kek_id(kek) != crypto.kek_id(other_kek)
