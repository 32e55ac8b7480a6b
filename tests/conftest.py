"""Test set-up: a real database built by the migrations, on SQLite or PostgreSQL.

`TANDEM_TEST_DATABASE=postgresql` runs the suite against a fresh database on 127.0.0.1:5432
(one per xdist worker, dropped afterwards); the default is a fresh SQLite file. With CI=true an
unreachable PostgreSQL fails the run instead of skipping anything.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tandem import migrations, wiring
from tandem.core.config import Settings
from tandem.main import create_app

# Every domain plugs into the layers below it, as the app does at start-up (tandem/wiring.py),
# also for the tests that call a domain's functions before any app is made.
wiring.register()

PG_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def database_kind() -> str:
    return os.environ.get("TANDEM_TEST_DATABASE", "sqlite")


def _create_pg_database(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if database_kind() == "postgresql":
        name = f"tandem_test_{uuid.uuid4().hex[:12]}"
        url = _create_pg_database(name)
        yield url
        _drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tandem.db'}"


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "hash_cost": "low",
        "base_url": "http://localhost:8000",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"), database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    migrations.upgrade(application.state.engine)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="session")
def engine(app: FastAPI) -> Engine:
    return app.state.engine


def pytest_report_header() -> str:
    return f"tandem test database: {database_kind()}"
