"""No Docker engine runs here: the compose file, the Dockerfile and .env.example are read and
checked against the project itself (settings, CLI commands, paths)."""

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tandem.cli import build_parser
from tandem.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {f"TANDEM_{name.upper()}" for name in Settings.model_fields}
VARIABLE = re.compile(r"\bTANDEM_[A-Z0-9_]+\b")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_example() -> dict[str, str]:
    """Both `NAME=value` and commented-out `# NAME=default` lines."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), with continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            steps.append((instruction.upper(), rest.strip()))
    return steps


def _exec_form(instruction: str) -> list[str]:
    [value] = [rest for name, rest in _dockerfile() if name == instruction]
    return json.loads(value)


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


class TestComposeFile:
    def test_it_has_the_database_migration_api_and_worker(self, compose: dict) -> None:
        assert set(compose["services"]) == {"db", "migrate", "api", "worker"}

    def test_postgres_keeps_its_data_in_a_named_volume_and_reports_health(
        self, compose: dict
    ) -> None:
        db = compose["services"]["db"]
        assert db["image"].startswith("postgres:16")
        volumes = [v.split(":")[0] for v in db["volumes"]]
        assert "pgdata" in volumes and "pgdata" in compose["volumes"]
        assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    def test_migration_runs_once_after_the_database_is_healthy(self, compose: dict) -> None:
        migrate = compose["services"]["migrate"]
        assert _command(migrate) == ["tandem", "migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["db"]["condition"] == "service_healthy"

    def test_api_and_worker_wait_for_a_successful_migration(self, compose: dict) -> None:
        for name in ("api", "worker"):
            service = compose["services"][name]
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert service["depends_on"]["db"]["condition"] == "service_healthy"

    def test_api_runs_without_the_embedded_worker_and_can_be_scaled(self, compose: dict) -> None:
        api = compose["services"]["api"]
        command = _command(api)
        assert command[:2] == ["tandem", "serve"]
        assert "--no-worker" in command
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert "container_name" not in api  # a fixed name forbids replicas
        assert api["deploy"]["replicas"] >= 1
        assert "/readyz" in " ".join(api["healthcheck"]["test"])
        assert compose["services"]["worker"]["deploy"]["replicas"] >= 1
        assert _command(compose["services"]["worker"]) == ["tandem", "worker"]

    def test_every_command_exists_in_the_command_line(self, compose: dict) -> None:
        parser = build_parser()
        commands = [_command(s) for s in compose["services"].values() if "command" in s]
        commands.append(_exec_form("CMD"))
        for command in commands:
            assert command[0] == "tandem", command
            parser.parse_args(command[1:])  # exits (SystemExit) on an unknown command or flag

    def test_every_variable_it_names_is_a_setting(self, compose: dict) -> None:
        text = (ROOT / "docker-compose.yml").read_text()
        unknown = set(VARIABLE.findall(text)) - SETTINGS
        assert not unknown, f"not settings: {sorted(unknown)}"

    def test_every_interpolated_variable_is_in_the_env_example(self) -> None:
        text = (ROOT / "docker-compose.yml").read_text()
        interpolated = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
        assert interpolated - set(_env_example()) == set()

    def test_images_run_tandem_from_the_env_file(self, compose: dict) -> None:
        for name in ("migrate", "api", "worker"):
            service = compose["services"][name]
            assert service["build"] == "."
            assert service["env_file"] == ".env"


class TestEnvExample:
    def test_it_lists_every_setting_and_nothing_else(self) -> None:
        named = {name for name in _env_example() if name.startswith("TANDEM_")}
        assert named - SETTINGS == set(), "not settings"
        assert SETTINGS - named == set(), "settings missing from .env.example"

    def test_it_holds_no_real_secret(self) -> None:
        values = _env_example()
        for name in ("TANDEM_SECRET_KEY", "TANDEM_ENCRYPTION_KEY", "POSTGRES_PASSWORD"):
            assert values[name] == ""


class TestDockerfile:
    def test_slim_python_and_a_non_root_user(self) -> None:
        steps = _dockerfile()
        assert steps[0] == ("FROM", "python:3.11-slim")
        [user] = [rest for name, rest in steps if name == "USER"]
        assert user not in ("root", "0")

    def test_it_copies_only_paths_that_exist_and_everything_that_runs(self) -> None:
        sources = []
        for name, rest in _dockerfile():
            if name == "COPY":
                sources += [s.rstrip("/") for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert {"backend", "alembic", "alembic.ini", "frontend", "pyproject.toml"} <= set(sources)
        ignore = (ROOT / ".dockerignore").read_text().splitlines()
        for source in sources:
            assert f"!{source}" in ignore or f"!{source}/" in ignore, source

    def test_the_health_check_asks_healthz(self) -> None:
        [check] = [rest for name, rest in _dockerfile() if name == "HEALTHCHECK"]
        assert "/healthz" in check and "--timeout" in check

    def test_the_source_tree_layout_the_code_relies_on(self) -> None:
        # migrations.py and main.py find alembic/ and frontend/ at Path(__file__).parents[2],
        # which the editable install in /app keeps.
        from tandem import migrations

        assert migrations.ROOT == ROOT
        assert (migrations.ROOT / "alembic" / "env.py").exists()
