"""`tandem backup` and the restore drill: a copy taken while serving opens and answers."""

import base64
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import Session

from tandem import backup, migrations
from tandem.accounts.models import User
from tandem.main import create_app
from tests.conftest import (
    PG_ADMIN_URL,
    _create_pg_database,
    _drop_pg_database,
    database_kind,
    make_settings,
)
from tests.factories import PASSWORD, login, make_world, new_client, register

KEYS = {
    "secret_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "encryption_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
}


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[list[str]]:
    """Fresh databases of the kind under test; append a name with `new()`."""
    made: list[str] = []
    yield made
    if database_kind() == "postgresql":
        for name in made:
            _drop_pg_database(name)


def _new_database(made: list[str], tmp_path: Path) -> str:
    if database_kind() == "postgresql":
        name = f"tandem_backup_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return _create_pg_database(name)
    directory = tmp_path / f"db-{len(made)}"
    made.append(str(directory))
    directory.mkdir()
    return f"sqlite:///{directory / 'tandem.db'}"


def _app(tmp_path: Path, url: str) -> FastAPI:
    data = tmp_path / f"data-{uuid.uuid4().hex[:6]}"
    return create_app(make_settings(data, url, **KEYS))


def _reads_the_couple(app: FastAPI, email: str, couple_id: str) -> None:
    client = new_client(app)
    assert client.get("/readyz").status_code == 200
    answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    couple = client.get(f"/api/couples/{couple_id}", headers={"Authorization": f"Bearer {token}"})
    assert couple.status_code == 200, couple.text
    assert couple.json()["id"] == couple_id


@pytest.mark.skipif(database_kind() != "sqlite", reason="the SQLite online backup")
class TestSqliteBackupWhileServing:
    def test_a_copy_taken_during_writes_is_whole_and_opens(self, tmp_path: Path) -> None:
        source = tmp_path / "live" / "tandem.db"
        source.parent.mkdir()
        app = _app(tmp_path, f"sqlite:///{source}")
        migrations.upgrade(app.state.engine)
        world = make_world(app)
        stop = threading.Event()
        written: list[str] = []
        errors: list[BaseException] = []

        def keep_writing() -> None:
            try:
                while not stop.is_set():
                    written.append(register(app).id)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            while len(written) < 3:
                stop.wait(0.01)
            for n in range(3):
                backup.backup_sqlite(source, tmp_path / f"copy-{n}.db")
                stop.wait(0.05)
        finally:
            stop.set()
            writer.join()
        assert not errors, errors
        assert len(written) >= 3
        for n in range(3):
            copy = tmp_path / f"copy-{n}.db"
            with sqlite3.connect(copy) as check:
                assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert oct(copy.stat().st_mode & 0o777) == "0o600"
            restored = tmp_path / f"restored-{n}" / "tandem.db"
            restored.parent.mkdir()
            shutil.copy(copy, restored)
            copy_app = _app(tmp_path, f"sqlite:///{restored}")
            try:
                _reads_the_couple(copy_app, world.partner_a.email, world.couple_id)
                with Session(copy_app.state.engine) as session:
                    users = session.exec(select(func.count()).select_from(User)).one()[0]
                assert 4 <= users <= 4 + len(written)
            finally:
                copy_app.state.engine.dispose()
        app.state.engine.dispose()

    def test_a_missing_database_is_an_error_not_an_empty_copy(self, tmp_path: Path) -> None:
        with pytest.raises(backup.BackupError):
            backup.backup_sqlite(tmp_path / "nothing.db", tmp_path / "copy.db")
        assert not (tmp_path / "copy.db").exists()


def _cli(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": url,
        "TANDEM_DATA_DIR": str(data_dir),
        "TANDEM_HASH_COST": "low",
    }
    return subprocess.run(
        [sys.executable, "-m", "tandem.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def require_pg_tools() -> None:
    """The drill needs pg_dump and pg_restore; without them it never passes silently: in CI
    (CI=true, as .ci/run sets) a missing tool fails the run, elsewhere it says it skipped."""
    if shutil.which("pg_dump") and shutil.which("pg_restore"):
        return
    message = "the restore drill needs pg_dump and pg_restore (install postgresql-client)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class TestCiHonesty:
    def test_ci_sets_what_makes_a_missing_service_fail(self) -> None:
        ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
        assert "export CI=true" in ci.split("scripts/test")[0]

    def test_a_missing_pg_dump_fails_the_drill_in_ci(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(shutil, "which", lambda _name: None)
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception):
            require_pg_tools()


class TestRestoreDrill:
    def test_back_up_restore_elsewhere_sign_in_and_read_the_couple(
        self, tmp_path: Path, databases: list[str]
    ) -> None:
        postgres = database_kind() == "postgresql"
        if postgres:
            require_pg_tools()
        url = _new_database(databases, tmp_path)
        app = _app(tmp_path, url)
        migrations.upgrade(app.state.engine)
        world = make_world(app)
        login(world.partner_b)
        app.state.engine.dispose()

        dump = tmp_path / "out" / ("tandem.dump" if postgres else "tandem.db")
        done = _cli(url, tmp_path / "cli-data", "backup", "--output", str(dump))
        assert done.returncode == 0, done.stderr
        assert str(dump) in done.stdout and dump.exists()
        assert "secret.key" not in os.listdir(dump.parent)  # keys are not in the backup

        target = _new_database(databases, tmp_path)
        if postgres:
            restore = subprocess.run(
                ["pg_restore", "--no-owner", f"--dbname={_libpq(target)}", str(dump)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert restore.returncode == 0, restore.stderr
        else:
            shutil.copy(dump, target.removeprefix("sqlite:///"))
        restored = _app(tmp_path, target)
        try:
            _reads_the_couple(restored, world.partner_a.email, world.couple_id)
            _reads_the_couple(restored, world.therapist.email, world.couple_id)
        finally:
            restored.state.engine.dispose()


class TestPgDumpCommand:
    def test_the_password_travels_in_the_environment_not_the_arguments(self) -> None:
        from sqlalchemy.engine import make_url

        url = make_url("postgresql+psycopg://tandem:s3cret@db:5432/tandem")
        command, env = backup.pg_dump_command(url, Path("/backups/t.dump"))
        assert command[:2] == ["pg_dump", "--format=custom"]
        assert "--dbname=tandem" in command and "--host=db" in command
        assert all("s3cret" not in part for part in command)
        assert env["PGPASSWORD"] == "s3cret"


def _libpq(url: str) -> str:
    assert url.startswith(PG_ADMIN_URL.rsplit("/", 1)[0])
    return url.replace("postgresql+psycopg://", "postgresql://")
