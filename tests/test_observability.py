"""Request logs, request ids, /metrics and readiness: what an operator watches."""

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from tandem import migrations
from tandem.core import metrics
from tandem.core.db import utcnow, write_session
from tandem.core.logs import JsonFormatter
from tandem.main import create_app
from tandem.reminders.models import Notification
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind, make_settings
from tests.factories import make_world, new_client, register

TOKEN = "a-metrics-token-for-the-tests"


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "tandem.access"]


@pytest.fixture
def metered_app(tmp_path: Path, database_url: str, app: FastAPI):  # noqa: ARG001 (migrated)
    application = create_app(make_settings(tmp_path, database_url, metrics_token=TOKEN))
    yield application
    application.state.engine.dispose()


class TestRequestLog:
    def test_one_line_per_request_with_the_route_template_and_nothing_sensitive(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        world = make_world(app)
        caplog.set_level(logging.INFO, logger="tandem.access")
        caplog.clear()
        answer = world.partner_a.get(
            f"/api/couples/{world.couple_id}?email={world.partner_a.email}&code=secret-code"
        )
        assert answer.status_code == 200
        [line] = _request_lines(caplog)
        assert line["method"] == "GET"
        assert line["route"] == "/api/couples/{couple_id}"
        assert line["status"] == 200
        assert isinstance(line["duration_ms"], float)
        assert line["request_id"] == answer.headers["x-request-id"]
        raw = json.dumps(line)
        for secret in (world.partner_a.email, "secret-code", world.partner_a.token, "email="):
            assert secret not in raw

    def test_a_login_logs_neither_the_email_nor_the_password(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        email = f"private-{uuid.uuid4().hex[:8]}@example.test"
        new_client(app).post(
            "/api/auth/login", json={"email": email, "password": "a secret passphrase"}
        )
        formatter = JsonFormatter()
        text = "\n".join(formatter.format(r) for r in caplog.records)
        assert '"route":"/api/auth/login"' in text
        assert email not in text and "a secret passphrase" not in text

    def test_unmatched_paths_are_not_written_down(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="tandem.access")
        caplog.clear()
        assert new_client(app).get("/api/no-such-thing/alex@example.test").status_code == 404
        [line] = _request_lines(caplog)
        assert line["route"] == "unmatched" and line["status"] == 404
        assert "alex" not in json.dumps(line)


class TestRequestId:
    def test_a_well_formed_request_id_is_kept_and_echoed(self, app: FastAPI) -> None:
        rid = "edge-" + uuid.uuid4().hex
        answer = new_client(app).get("/healthz", headers={"X-Request-ID": rid})
        assert answer.headers["x-request-id"] == rid

    @pytest.mark.parametrize("given", ["short", "has space in it", "x" * 200, "<script>alert"])
    def test_a_malformed_one_is_replaced(self, app: FastAPI, given: str) -> None:
        answer = new_client(app).get("/healthz", headers={"X-Request-ID": given})
        generated = answer.headers["x-request-id"]
        assert generated != given and len(generated) == 32
        int(generated, 16)

    def test_without_one_each_answer_gets_its_own(self, app: FastAPI) -> None:
        client = new_client(app)
        first, second = client.get("/healthz"), client.get("/healthz")
        assert first.headers["x-request-id"] != second.headers["x-request-id"]


class TestMetrics:
    def test_without_a_token_configured_there_are_no_metrics(self, app: FastAPI) -> None:
        answer = new_client(app).get("/metrics", headers={"Authorization": "Bearer anything"})
        assert answer.status_code == 404

    @pytest.mark.parametrize(
        "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
    )
    def test_a_missing_or_wrong_token_is_401(self, metered_app: FastAPI, header) -> None:
        headers = {"Authorization": header} if header else {}
        answer = new_client(metered_app).get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in answer.text

    def test_requests_and_latencies_by_route_template(self, metered_app: FastAPI) -> None:
        client = new_client(metered_app)
        for _ in range(3):
            client.get("/healthz")
        client.get(f"/api/couples/{uuid.uuid4()}")  # 401, counted under its template
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = answer.text
        assert "# TYPE tandem_http_requests_total counter" in text
        assert "# TYPE tandem_http_request_duration_seconds histogram" in text
        healthz = 'method="GET",route="/healthz",status="200"'
        count = _value(text, f"tandem_http_requests_total{{{healthz}}}")
        assert count >= 3
        assert _value(text, f'tandem_http_request_duration_seconds_bucket{{{healthz},le="+Inf"}}')
        assert _value(text, f"tandem_http_request_duration_seconds_count{{{healthz}}}") == count
        assert 'route="/api/couples/{couple_id}",status="401"' in text

    def test_push_outcomes_by_status(self, metered_app: FastAPI) -> None:
        before = _value(_scrape(metered_app), 'tandem_push_outcomes_total{status="gone"}', 0)
        metrics.push_outcome("gone")
        metrics.push_outcome("gone")
        after = _value(_scrape(metered_app), 'tandem_push_outcomes_total{status="gone"}')
        assert after == before + 2

    def test_outbox_depth_and_the_age_of_the_oldest_due_notification(
        self, metered_app: FastAPI
    ) -> None:
        user = register(metered_app)
        row = Notification(
            user_id=uuid.UUID(user.id),
            kind="test",
            payload={},
            due_at=utcnow() - timedelta(minutes=5),
            dedupe_key=f"metrics-test-{uuid.uuid4()}",
        )
        with write_session(metered_app.state.engine) as session:
            session.add(row)
            session.commit()
        try:
            text = _scrape(metered_app)
            assert "# TYPE tandem_outbox_due gauge" in text
            assert _value(text, "tandem_outbox_due") >= 1
            assert _value(text, "tandem_outbox_oldest_due_age_seconds") >= 300
            assert _value(text, 'tandem_notifications{state="pending"}') >= 1
        finally:
            with write_session(metered_app.state.engine) as session:
                session.delete(session.get(Notification, row.id))
                session.commit()

    def test_the_exposition_format_parses(self, metered_app: FastAPI) -> None:
        for line in _scrape(metered_app).splitlines():
            if line.startswith("#"):
                assert line.split()[1] in ("HELP", "TYPE")
                continue
            name, _, value = line.rpartition(" ")
            assert name and float(value) >= 0


class TestReadiness:
    def test_not_ready_once_the_database_is_gone(self, tmp_path: Path) -> None:
        if database_kind() == "postgresql":
            name = f"tandem_gone_{uuid.uuid4().hex[:12]}"
            url = _create_pg_database(name)
        else:
            url = f"sqlite:///{tmp_path / 'gone.db'}"
        application = create_app(make_settings(tmp_path, url))
        try:
            migrations.upgrade(application.state.engine)
            client = new_client(application)
            assert client.get("/readyz").status_code == 200
            if database_kind() == "postgresql":
                _drop_pg_database(name)  # terminates the app's connections too
            else:
                # The file is removed, as a lost volume or a mistaken clean-up would do.
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{tmp_path / 'gone.db'}{suffix}").unlink(missing_ok=True)
            answer = client.get("/readyz")
            assert answer.status_code == 503
            assert answer.json() == {"status": "database unreachable"}
            assert client.get("/healthz").status_code == 200  # alive, only not ready
        finally:
            application.state.engine.dispose()
            if database_kind() == "postgresql":
                _drop_pg_database(name)


def _scrape(app: FastAPI) -> str:
    answer = new_client(app).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    return answer.text


def _series_key(series: str) -> tuple[str, frozenset[str]]:
    # The exposition format leaves the order of labels to the writer: compare them as a set.
    name, _, labels = series.partition("{")
    return name, frozenset(labels.rstrip("}").split(",")) if labels else frozenset()


def _value(text: str, series: str, default: float | None = None) -> float:
    wanted = _series_key(series)
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        found, _, value = line.rpartition(" ")
        if _series_key(found) == wanted:
            return float(value)
    if default is not None:
        return default
    raise AssertionError(f"{series} not in the metrics")


class TestMetricsAcrossProcesses:
    def test_processes_sharing_a_directory_count_together(self, tmp_path: Path) -> None:
        """PROMETHEUS_MULTIPROC_DIR: what two workers counted shows on any process's /metrics."""
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
        count = (
            "from tandem.core import metrics; metrics.prepare_multiprocess_dir(); "
            "metrics.push_outcome('gone')"
        )
        for _ in range(2):
            subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
        shown = subprocess.run(
            [sys.executable, "-c", "from tandem.core import metrics; print(metrics.render(None))"],
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        ).stdout
        assert _value(shown, 'tandem_push_outcomes_total{status="gone"}') == 2
