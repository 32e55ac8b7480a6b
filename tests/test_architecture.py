"""The house keeps its shape (docs/ARCHITECTURE.md): the layers' contracts hold, no module hides
an import of Tandem inside a function (the way cycles are dodged), no module grows past what
one reader takes in, and every silenced type error says which and why."""

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "backend" / "tandem"
MAX_LINES = 450
# Lazy imports are fine where start-up time matters: the CLI's entry points.
LAZY_IMPORTS_ALLOWED = {PACKAGE / "cli.py"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports_tandem(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name == "tandem" or a.name.startswith("tandem.") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return node.level > 0 or module == "tandem" or module.startswith("tandem.")
    return False


def function_level_imports(path: Path) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if _imports_tandem(node):
                found.append(f"{path.name}:{node.lineno} in {function.name}()")
    return found


class TestTheLayers:
    def test_the_import_contracts_hold(self) -> None:
        """No cycle, no reach-around: pyproject.toml's [tool.importlinter] contracts."""
        lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
        assert lint is not None, "import-linter is a dev dependency: scripts/setup --dev"
        result = subprocess.run(
            [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_no_function_imports_tandem_outside_the_cli(self) -> None:
        found = [
            line
            for path in _modules()
            if path not in LAZY_IMPORTS_ALLOWED
            for line in function_level_imports(path)
        ]
        assert found == []

    @pytest.mark.parametrize(
        "source",
        [
            "def f():\n    from tandem.core import db\n",
            "async def f():\n    import tandem.main\n",
            "class A:\n    def f(self):\n        from . import wiring\n",
        ],
    )
    def test_the_check_sees_a_hidden_import(self, tmp_path: Path, source: str) -> None:
        path = tmp_path / "probe.py"
        path.write_text(source)
        assert function_level_imports(path)


# `# type: ignore[code]  # why`: the error's code (mypy checks it is still needed, strict's
# warn_unused_ignores) and, on the same line, the reason it cannot be typed away.
IGNORE = re.compile(r"#\s*type:\s*ignore")
IGNORE_WITH_REASON = re.compile(r"# type: ignore\[[a-z-]+(?:, ?[a-z-]+)*\]  # \S")


def ignores_without_reason(path: Path) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [
        f"{path.parent.name}/{path.name}:{token.start[0]}: {token.string}"
        for token in tokens
        if token.type == tokenize.COMMENT
        and IGNORE.search(token.string)
        and not IGNORE_WITH_REASON.search(token.string)
    ]


class TestTypeIgnores:
    def test_each_ignore_names_its_error_and_says_why(self) -> None:
        found = [line for path in _modules() for line in ignores_without_reason(path)]
        assert found == []

    @pytest.mark.parametrize(
        "source",
        [
            "x = f()  # type: ignore\n",
            "x = f()  # type: ignore[attr-defined]\n",
            "x = f()  # type: ignore  # the library is untyped\n",
            "x = f()  #type:ignore[misc]\n",
            "x = f()  # noqa: E501  # type: ignore[misc]\n",
        ],
    )
    def test_the_check_sees_a_bare_ignore(self, tmp_path: Path, source: str) -> None:
        path = tmp_path / "probe.py"
        path.write_text(source)
        assert ignores_without_reason(path)

    @pytest.mark.parametrize(
        "source",
        [
            "x = f()  # type: ignore[attr-defined]  # set by the mapping\n",
            "x = f()  # type: ignore[arg-type, misc]  # the stub is wrong\n",
            'x = "# type: ignore"\n',
        ],
    )
    def test_the_check_lets_a_reasoned_ignore_pass(self, tmp_path: Path, source: str) -> None:
        path = tmp_path / "probe.py"
        path.write_text(source)
        assert ignores_without_reason(path) == []


class TestModuleSize:
    def test_no_module_passes_the_limit(self) -> None:
        too_long = {
            str(path.relative_to(ROOT)): n
            for path in _modules()
            if (n := len(path.read_text().splitlines())) > MAX_LINES
        }
        assert too_long == {}, f"split these by responsibility (over {MAX_LINES} lines)"


class TestTheBrowserTests:
    def test_none_waits_with_wait_for_function(self) -> None:
        # Its later polls are evaluated inside the page, which the app's Content-Security-Policy
        # refuses, and a promise counts as true at once: tests/e2e/steps.py's wait_until instead.
        users = [
            path.name
            for path in sorted((ROOT / "tests" / "e2e").glob("*.py"))
            if ".wait_for_function(" in path.read_text()
        ]
        assert users == []
