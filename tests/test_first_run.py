"""The operator's first run: `tandem serve` starts without a warning, logs readable lines to a
person at a terminal and JSON lines to anything else (TANDEM_LOG_FORMAT=auto|text|json), and
`scripts/run` installs only what the app needs."""

import datetime
import io
import json
import logging
import os
import pty
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from tandem.cli import UVICORN_OPTIONS
from tandem.core import logs

ROOT = Path(__file__).resolve().parents[1]
TANDEM = [sys.executable, "-m", "tandem.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, *, stderr, **env: str) -> subprocess.Popen:  # noqa: ANN001
    port = _free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "PYTHONWARNINGS"))
    }
    environment.update(
        {"TANDEM_DATA_DIR": str(tmp_path / "data"), "TANDEM_HASH_COST": "low", **env}
    )
    process = subprocess.Popen(
        [*TANDEM, "serve", "--port", str(port), "--no-worker"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                httpx.get(f"http://127.0.0.1:{port}/api/me", timeout=5)
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("tandem serve did not start")
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


WARNING = re.compile(r"Warning|deprecat", re.IGNORECASE)


class TestStartingTandem:
    def test_a_terminal_gets_readable_lines_and_no_warning(self, tmp_path: Path) -> None:
        controller, terminal = pty.openpty()
        process = _serve(tmp_path, stderr=terminal)
        _stop(process)
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: everything is read
                break
            if not chunk:
                break
            seen += chunk
        os.close(controller)
        text = seen.decode()
        assert not WARNING.search(text), text
        assert re.search(r"^\d\d:\d\d:\d\d INFO +GET /api/me 401 [\d.]+ ms\r?$", text, re.M), text
        assert "{" not in text

    def test_a_pipe_gets_json_lines_and_no_warning(self, tmp_path: Path) -> None:
        process = _serve(tmp_path, stderr=subprocess.PIPE)
        _stop(process)
        text = process.stderr.read().decode()
        assert not WARNING.search(text), text
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        requests = [(e["method"], e["route"], e["status"]) for e in lines if e["msg"] == "request"]
        assert ("GET", "/api/me", 401) in requests

    def test_text_can_be_asked_for_when_the_output_is_not_a_terminal(self, tmp_path: Path) -> None:
        process = _serve(tmp_path, stderr=subprocess.PIPE, TANDEM_LOG_FORMAT="text")
        _stop(process)
        text = process.stderr.read().decode()
        assert re.search(r"^\d\d:\d\d:\d\d INFO +GET /healthz 200 [\d.]+ ms$", text, re.M), text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "tandem.access", "levelname": "INFO", "msg": "request"})
    record.__dict__.update(extra)
    return record


class TestLogFormats:
    @pytest.mark.parametrize(
        ("setting", "stream", "formatter"),
        [
            ("auto", _Terminal(), logs.TextFormatter),
            ("auto", io.StringIO(), logs.JsonFormatter),
            ("text", io.StringIO(), logs.TextFormatter),
            ("json", _Terminal(), logs.JsonFormatter),
        ],
    )
    def test_the_setting_and_the_terminal_choose_the_format(
        self, setting: str, stream: io.StringIO, formatter: type
    ) -> None:
        assert type(logs.formatter_for(setting, stream)) is formatter

    def test_a_request_reads_as_method_route_status_and_time(self) -> None:
        line = logs.TextFormatter().format(
            _record(method="GET", route="/api/me", status=200, duration_ms=3.1, request_id="r1")
        )
        assert re.fullmatch(r"\d\d:\d\d:\d\d INFO    GET /api/me 200 3.1 ms", line), line

    def test_other_lines_keep_their_fields_and_only_an_exceptions_class(self) -> None:
        record = logging.makeLogRecord(
            {"name": "tandem", "levelname": "WARNING", "msg": "dispatch failed", "batch": 3}
        )
        try:
            raise ValueError("a person's words")
        except ValueError:
            record.exc_info = sys.exc_info()
        line = logs.TextFormatter().format(record)
        assert line.endswith("WARNING tandem: dispatch failed batch=3 exception=ValueError"), line
        assert "person" not in line

    def test_a_json_line_has_the_time_to_the_millisecond_and_every_field(self) -> None:
        formatter = logs.JsonFormatter()
        second = datetime.datetime(2026, 11, 30, 19, 33, 5, tzinfo=datetime.UTC).timestamp()
        for created, stamp in (
            (second + 0.123456, "2026-11-30T19:33:05.123+00:00"),
            (second + 0.9991, "2026-11-30T19:33:05.999+00:00"),
            (second + 1, "2026-11-30T19:33:06.000+00:00"),  # the next second, made anew
        ):
            record = _record(status=200, big=2**70, when=datetime.date(2026, 1, 2))
            record.created = created
            line = json.loads(formatter.format(record))
            assert line["ts"] == stamp
            # orjson's refusal (an integer past 64 bits) falls back to the json module.
            assert (line["big"], line["when"], line["status"]) == (2**70, "2026-01-02", 200)

    def test_the_server_runs_on_asyncios_loop(self) -> None:
        """uvloop, which uvicorn would pick, serves new requests before finishing started
        ones under a full load: p99 15 times the median (docs/BENCHMARKS.md, round 5)."""
        config = uvicorn.Config(lambda *_: None, **UVICORN_OPTIONS)
        loop = config.get_loop_factory()()
        try:
            assert type(loop).__module__.startswith("asyncio.")
        finally:
            loop.close()

    def test_an_unknown_format_is_refused_at_start(self) -> None:
        from tandem.core.config import Settings

        with pytest.raises(ValueError):
            Settings(log_format="yaml")  # type: ignore[arg-type]


class TestScripts:
    def test_running_installs_the_app_and_testing_adds_the_dev_tools(self) -> None:
        run = (ROOT / "scripts" / "run").read_text()
        test = (ROOT / "scripts" / "test").read_text()
        assert re.search(r"^scripts/setup$", run, re.M)
        assert re.search(r"^scripts/setup --dev$", test, re.M)

    def test_the_apps_own_dependencies_bring_no_test_tool(self) -> None:
        """Everything `pip install .` pulls in, transitively, as installed here."""
        from importlib.metadata import PackageNotFoundError, requires

        from packaging.requirements import Requirement

        seen: set[str] = set()
        todo = ["tandem"]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                wanted = requires(name) or []
            except PackageNotFoundError:
                continue
            for line in wanted:
                requirement = Requirement(line)
                if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                    continue
                todo.append(requirement.name.lower().replace("_", "-"))
        tools = {"pytest", "playwright", "schemathesis", "ruff", "hypothesis", "pytest-xdist"}
        assert not seen & tools, seen & tools
