"""Health, headers, limits, settings and migrations: what every request and every start rely on."""

import base64
import os
import stat
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import inspect

from tandem import migrations
from tandem.core.config import Settings, create_once
from tandem.core.db import make_engine
from tandem.models import metadata
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind
from tests.factories import new_client, register

ROOT = Path(__file__).resolve().parents[1]


class TestHealth:
    def test_alive_and_ready(self, app: FastAPI) -> None:
        client = new_client(app)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200

    def test_not_ready_before_migrations(self, tmp_path: Path) -> None:
        settings = Settings(
            data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/empty.db", hash_cost="low"
        )
        from tandem.main import create_app

        app = create_app(settings)
        answer = new_client(app).get("/readyz")
        assert answer.status_code == 503
        app.state.engine.dispose()


class TestHeaders:
    def test_security_headers_on_json_and_errors(self, app: FastAPI) -> None:
        client = new_client(app)
        for answer in (client.get("/healthz"), client.get("/api/me"), client.get("/api/nothing")):
            headers = answer.headers
            assert "default-src 'self'" in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cache-control"] == "no-store"
            assert "server" not in headers
            assert "strict-transport-security" not in headers  # http base URL

    def test_hsts_when_the_base_url_is_https(self, tmp_path: Path, database_url: str) -> None:
        from tandem.main import create_app

        settings = Settings(
            data_dir=tmp_path, database_url=database_url, base_url="https://tandem.example"
        )
        app = create_app(settings)
        answer = new_client(app).get("/healthz")
        assert "max-age" in answer.headers["strict-transport-security"]
        app.state.engine.dispose()

    def test_errors_never_carry_internals(self, app: FastAPI) -> None:
        client = new_client(app)
        answer = client.post(
            "/api/auth/login", content=b'{"email": ', headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422
        assert "Traceback" not in answer.text


class TestRequestLimits:
    def test_oversized_body_is_413(self, app: FastAPI) -> None:
        actor = register(app)
        huge = "x" * (app.state.settings.max_body_bytes + 10)
        answer = actor.patch("/api/me", json={"display_name": huge})
        assert answer.status_code == 413
        assert actor.get("/api/me").json()["display_name"] != huge

    def test_oversized_body_without_length_is_413(self, app: FastAPI) -> None:
        limit = app.state.settings.max_body_bytes

        def chunks():  # noqa: ANN202
            for _ in range(limit // 1000 + 5):
                yield b"x" * 1000

        answer = new_client(app).post("/api/auth/login", content=chunks())
        assert answer.status_code == 413


class TestSettings:
    def test_generated_keys_are_private_and_stable(self, tmp_path: Path) -> None:
        first = Settings(data_dir=tmp_path)
        first.ensure_keys()
        for name in ("secret.key", "encryption.key"):
            mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            assert mode == 0o600, name
        again = Settings(data_dir=tmp_path)
        assert again.signing_key == first.signing_key
        assert again.key_encryption_key == first.key_encryption_key

    def test_processes_starting_together_agree_on_one_key(self, tmp_path: Path) -> None:
        path = tmp_path / "race.key"
        with ThreadPoolExecutor(8) as pool:
            keys = set(
                pool.map(
                    lambda _: create_once(path, lambda: os.urandom(16).hex().encode()), range(32)
                )
            )
        assert len(keys) == 1

    @pytest.mark.parametrize(
        "value",
        [
            "changeme",
            "a long passphrase that is not base64url at all!",
            "c2hvcnQta2V5",  # base64url, but 9 bytes
            "Zm9v" * 7,  # base64url, 21 bytes
        ],
    )
    @pytest.mark.parametrize("name", ["secret_key", "encryption_key"])
    def test_a_key_that_is_not_base64url_of_32_bytes_stops_the_start(
        self, tmp_path: Path, name: str, value: str
    ) -> None:
        with pytest.raises(ValueError, match=f"TANDEM_{name.upper()}") as refused:
            Settings(data_dir=tmp_path, **{name: value})
        assert value not in str(refused.value)
        good = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        assert len(Settings(data_dir=tmp_path, **{name: good}).signing_key) >= 32
        assert Settings(data_dir=tmp_path, **{name: ""}).model_dump()[name] is None

    def test_placeholders_and_low_hash_cost_are_refused_on_https(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="TANDEM_SECRET_KEY"):
            Settings(data_dir=tmp_path, base_url="https://t.example", secret_key="changeme")
        with pytest.raises(ValueError, match="low"):
            Settings(data_dir=tmp_path, base_url="https://t.example", hash_cost="low")
        with pytest.raises(ValueError):
            Settings(data_dir=tmp_path, access_token_minutes=60)


@pytest.fixture()
def scratch_url(tmp_path: Path):  # noqa: ANN201
    if database_kind() == "postgresql":
        name = f"tandem_scratch_{uuid.uuid4().hex[:10]}"
        yield _create_pg_database(name)
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path}/scratch.db"


class TestMigrations:
    def test_models_and_migrations_never_drift(self, engine) -> None:  # noqa: ANN001
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []

    def test_upgrade_downgrade_upgrade(self, scratch_url: str) -> None:
        engine = make_engine(scratch_url)
        try:
            migrations.upgrade(engine)
            tables = set(inspect(engine).get_table_names())
            assert set(metadata.tables) <= tables
            migrations.downgrade(engine, "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            migrations.upgrade(engine)
            assert migrations.current_heads(engine) == migrations.expected_heads(engine)
        finally:
            engine.dispose()


class TestCommandLine:
    def _run(self, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "TANDEM_DATA_DIR": str(tmp_path),
            "TANDEM_HASH_COST": "low",
            "TANDEM_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        }
        return subprocess.run(
            [sys.executable, "-m", "tandem.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def test_create_a_therapist_then_reset_the_password(self, tmp_path: Path) -> None:
        created = self._run(
            tmp_path,
            "create-user",
            "--email",
            "first@practice.test",
            "--name",
            "Dr First",
            stdin="a long first passphrase\n",
        )
        assert created.returncode == 0, created.stderr
        assert "Recovery code" in created.stdout
        assert "a long first passphrase" not in created.stdout + created.stderr
        reset = self._run(
            tmp_path,
            "reset-password",
            "--email",
            "first@practice.test",
            stdin="another long passphrase\n",
        )
        assert reset.returncode == 0, reset.stderr
        unknown = self._run(
            tmp_path,
            "reset-password",
            "--email",
            "nobody@practice.test",
            stdin="another long passphrase\n",
        )
        assert unknown.returncode == 2 and "No account" in unknown.stderr


class TestServe:
    def test_serve_migrates_and_becomes_ready(self, tmp_path: Path) -> None:
        import socket
        import time

        import httpx

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "TANDEM_DATA_DIR": str(tmp_path / "data"), "TANDEM_HASH_COST": "low"}
        env.pop("TANDEM_DATABASE_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "tandem.cli", "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline and status != 200:
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert status == 200
            assert (tmp_path / "data" / "tandem.db").exists()
        finally:
            process.terminate()
            process.wait(timeout=20)
