"""A small smoke of scripts/bench_load.py (a benchmark, not a timed test): it still seeds,
serves, drives every endpoint against the bare FastAPI yardstick and prints its table, with no
5xx and no "database is locked"; and of scripts/bench_sqlite_write.py."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)"),
]


def _run(script: str, *arguments: str, timeout: int) -> str:
    """The script's output; it must end well."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / script), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_load_benchmark_runs_and_reports_against_the_bare_endpoint() -> None:
    output = _run(
        "bench_load.py",
        *("--couples", "20", "--actors", "4", "--duration", "1"),
        *("--databases", "sqlite", "--processes", "1"),
        timeout=300,
    )
    rows = [line for line in output.splitlines() if line.startswith("| sqlite | 1 |")]
    names = {row.split("|")[3].strip() for row in rows}
    writes = {"session write", "joint write", "replay write", "refused write"}
    assert {"bare FastAPI", "healthz", "plan read", "check-in create", *writes} <= names
    assert any(name.startswith("overview") for name in names)


def test_the_sqlite_write_breakdown_runs() -> None:
    output = _run("bench_sqlite_write.py", "--couples", "20", "--writes", "50", timeout=120)
    for part in ("sqlite only:", "use case:", "use case, replay:"):
        assert any(line.startswith(part) and line.endswith(" µs") for line in output.splitlines())
