"""The database going away under a running app: 503 with Retry-After (never 500), /readyz says
so, everything resumes by itself, and the worker backs off meanwhile.

On PostgreSQL only, and without touching the shared cluster: the app under test reaches its
database through a loopback proxy that the test cuts (every connection dropped, new ones
refused) and restores; backends of this test's own database are terminated under load.
"""

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tandem.core.db import write_session
from tandem.core.errors import UNAVAILABLE
from tandem.journal.models import SharedNote
from tandem.main import create_app
from tandem.reminders import notices
from tandem.reminders.models import Notification
from tandem.reminders.worker import Worker
from tests.conftest import database_kind, make_settings
from tests.factories import PASSWORD, make_world, new_client, register
from tests.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(database_kind() != "postgresql", reason="needs PostgreSQL"),
]


@pytest.fixture
def proxied(app: FastAPI, tmp_path: Path) -> Iterator[tuple[FastAPI, TcpProxy]]:
    """A second app on the same (migrated) database, reached through a proxy."""
    url = make_url(app.state.settings.database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via_proxy = url.set(host="127.0.0.1", port=proxy.port)
        application = create_app(
            make_settings(tmp_path, via_proxy.render_as_string(hide_password=False))
        )
        yield application, proxy
        application.state.engine.dispose()


def _unavailable(answer) -> bool:  # noqa: ANN001
    return (
        answer.status_code == 503
        and int(answer.headers["retry-after"]) >= 1
        and answer.json().get("detail", answer.json().get("status")) is not None
    )


class TestDatabaseUnreachable:
    def test_every_kind_of_request_is_503_with_retry_after_then_it_recovers(
        self, proxied: tuple[FastAPI, TcpProxy]
    ) -> None:
        application, proxy = proxied
        actor = register(application, role="therapist")
        assert actor.get("/api/me").status_code == 200

        proxy.cut()
        answers = {
            "read": actor.get("/api/me"),
            "list": actor.get("/api/couples"),
            "write": actor.post("/api/couples", json={"label": "L", "timezone": "UTC"}),
            "sign-in": new_client(application).post(
                "/api/auth/login", json={"email": actor.email, "password": PASSWORD}
            ),
            "sign-up": new_client(application).post(
                "/api/auth/register",
                json={
                    "email": f"new-{uuid.uuid4().hex[:8]}@example.test",
                    "password": PASSWORD,
                    "display_name": "New",
                    "role": "partner",
                    "timezone": "UTC",
                },
            ),
        }
        for what, answer in answers.items():
            assert _unavailable(answer), (what, answer.status_code, answer.text)
            assert answer.json()["detail"] == UNAVAILABLE
        ready = new_client(application).get("/readyz")
        assert _unavailable(ready) and ready.json()["status"] == "database unreachable"

        proxy.restore()
        assert actor.get("/api/me").status_code == 200
        assert new_client(application).get("/readyz").status_code == 200
        created = actor.post("/api/couples", json={"label": "L", "timezone": "UTC"})
        assert created.status_code == 201

    def test_the_worker_backs_off_and_resumes(
        self, app: FastAPI, proxied: tuple[FastAPI, TcpProxy], caplog: pytest.LogCaptureFixture
    ) -> None:
        application, proxy = proxied
        someone = register(app)
        proxy.cut()
        worker = Worker(
            application.state.settings,
            application.state.engine,
            schedule_every=3600,
            idle_sleep=0.05,
        )
        thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
        with caplog.at_level(logging.WARNING, logger="tandem.worker"):
            thread.start()
            time.sleep(2.5)
            failed_rounds = caplog.text.count("dispatch failed")
        # Without backing off, two lanes retrying every 0.05 s would fail ~100 times.
        assert 1 <= failed_rounds <= 12, failed_rounds

        with write_session(app.state.engine) as session:  # written while the worker is cut off
            notices.enqueue(
                session,
                notices.practice_confirmed(
                    practice_log_id=uuid.uuid4(), notify_user_id=uuid.UUID(someone.id)
                ),
            )
            session.commit()
        proxy.restore()
        deadline = time.monotonic() + 40
        state = "pending"
        while time.monotonic() < deadline and state in ("pending", "sending"):
            time.sleep(0.2)
            with Session(app.state.engine) as session:
                state = session.execute(
                    select(Notification.state).where(Notification.user_id == uuid.UUID(someone.id))
                ).scalar_one()
        worker.stop()
        thread.join(timeout=15)
        assert state == "skipped"  # processed (no device to send to) once the database came back


class TestBackendsTerminatedUnderLoad:
    def test_no_500_and_every_acknowledged_write_persists(self, app: FastAPI) -> None:
        world = make_world(app)
        partner = world.partner_a
        admin = create_engine(app.state.settings.database_url, isolation_level="AUTOCOMMIT")
        stop = threading.Event()
        statuses: list[int] = []
        acknowledged: list[str] = []
        lock = threading.Lock()

        def write() -> None:
            while not stop.is_set():
                marker = uuid.uuid4().hex
                answer = partner.post(
                    f"/api/couples/{world.couple_id}/notes",
                    json={"body": marker, "visibility": "partner"},
                )
                with lock:
                    statuses.append(answer.status_code)
                    if answer.status_code == 201:
                        acknowledged.append(answer.json()["id"])

        writers = [threading.Thread(target=write) for _ in range(4)]
        for thread in writers:
            thread.start()
        terminated = 0
        with admin.connect() as connection:
            for _ in range(8):
                time.sleep(0.25)
                terminated += len(
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).all()
                )
        stop.set()
        for thread in writers:
            thread.join()
        admin.dispose()

        assert terminated > 0
        assert set(statuses) <= {201, 503}, sorted(set(statuses))
        assert statuses.count(201) > 0
        with Session(app.state.engine) as session:
            stored = {
                str(i)
                for i in session.execute(
                    select(SharedNote.id).where(SharedNote.couple_id == uuid.UUID(world.couple_id))
                ).scalars()
            }
        assert set(acknowledged) <= stored
        assert partner.get("/api/me").status_code == 200
