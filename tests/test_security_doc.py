"""docs/SECURITY.md names the test that proves each claim: every name must exist, so the
checklist cannot silently point at a renamed or deleted test."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `tests/file.py::Class::test`, or `::test` meaning "the same file and class as just before".
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?((?:::\w+)*)`")


def _names(path: Path) -> set[str]:
    """`Class`, `Class::test` and `test` names defined in a test file."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef)
            }
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def test_every_test_named_in_the_security_document_exists() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    checked = 0
    for line in text.splitlines():
        path, scope = None, ""
        for match in REFERENCE.finditer(line):
            file, parts = match.group(1), match.group(2).strip(":")
            if file:
                path = ROOT / file
                assert path.exists(), file
                scope = parts.split("::")[0] if "::" in parts else ""
                name = parts
            elif parts:
                assert path is not None, f"a bare ::name with no file before it: {line}"
                name = f"{scope}::{parts}" if scope else parts
            else:
                continue
            if name:
                assert name in _names(path), f"{path.name}::{name}"
            checked += 1
    assert checked > 50


STATUSES = ("met", "partial", "gap", "n/a")
# Work "on a branch" or "in progress" is not what runs: the document speaks of what is merged.
NOT_MERGED = re.compile(
    r"\bin progress\b"
    r"|\b(?:journal|plans|reminders|pwa|another|its own|their own|on the \w+) branch",
    re.IGNORECASE,
)


def _checklist_rows(text: str) -> list[list[str]]:
    """The ASVS checklist rows: `| # | requirement | status | proof / note |`."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.match(r"^\d+\.[\dx]", cells[0]):
            rows.append(cells)
    return rows


def test_every_status_is_true_of_what_is_merged() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    assert not NOT_MERGED.search(text), NOT_MERGED.search(text)
    rows = _checklist_rows(text)
    assert len(rows) > 60
    for number, _requirement, status, proof in rows:
        plain = status.replace("*", "").lower()
        assert plain.startswith(STATUSES), f"{number}: status {status!r}"
        if plain == "met" and "`tests/" not in proof:
            # A bare "met" without a test says why no test can show it.
            assert proof, f"{number}: met, with nothing said"
