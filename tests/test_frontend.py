"""How the backend serves the PWA, and rules its files keep (no inline code, no third party,
at most 50 KB of JavaScript gzipped)."""

import gzip
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
# 50 KB, plus ~8.6 KB for the questionnaire screens (issue 18: answering, safety screen,
# history, the therapist's trends, assigning, goals and the custom questionnaire editor), plus
# ~6.6 KB for the partners' journeys (issue 12/14: disputes with a reason, who left, a couple of
# one, checked route parameters, an offline queue per person that survives an expired sign-in),
# plus ~5.5 KB for agreed practice times, the calendar feed, the nudge and the service worker's
# notification actions (issue 17), plus ~11 KB for the account controls and honest status of
# issue 12 (password, recovery code, devices, access log, removing the therapist, deletion,
# notification status, plain words for every API error, time zone search, drafts in memory),
# plus ~6.5 KB for the JSDoc types of issue 16: with no build step, the comments the type checker
# reads reach the browser too (the shared shapes live in types/, which it never loads).
JS_BUDGET = 82 * 1024
# The therapist's workspace and the printouts, loaded on first use; since issue 18's
# integration also the therapist's questionnaire pages (out of the start: ~7 KB a partner's
# phone no longer downloads) and their trends, goals and practice times on the couple's page and
# in the brief.
LAZY_BUDGET = 30 * 1024


def client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


class TestServingTheApp:
    def test_shell_is_served_at_the_root_and_revalidated(self, app: FastAPI) -> None:
        answer = client(app).get("/")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        version = app.state.frontend_version
        assert f"/assets/{version}/js/app.js" in answer.text
        assert "__VERSION__" not in answer.text

    def test_service_worker_and_manifest_live_at_the_root_scope(self, app: FastAPI) -> None:
        c = client(app)
        sw = c.get("/sw.js")
        assert sw.status_code == 200
        assert sw.headers["content-type"].startswith("text/javascript")
        assert sw.headers["cache-control"] == "no-cache"
        assert app.state.frontend_version in sw.text
        assert '"__PRECACHE__"' not in sw.text
        manifest = c.get("/manifest.webmanifest")
        assert manifest.headers["content-type"] == "application/manifest+json"
        assert manifest.headers["cache-control"] == "no-cache"
        data = manifest.json()
        assert data["name"] == "Tandem"
        assert data["display"] == "standalone"
        assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
        assert any(i.get("purpose") == "maskable" for i in data["icons"])

    def test_versioned_assets_are_cached_for_a_year_with_their_type(self, app: FastAPI) -> None:
        c = client(app)
        version = app.state.frontend_version
        for path, media in [
            ("js/app.js", "text/javascript"),
            ("css/app.css", "text/css"),
            ("icons/icon-192.png", "image/png"),
        ]:
            answer = c.get(f"/assets/{version}/{path}")
            assert answer.status_code == 200, path
            assert answer.headers["content-type"].startswith(media)
            assert "immutable" in answer.headers["cache-control"]

    def test_text_assets_are_sent_gzipped_when_asked(self, app: FastAPI) -> None:
        version = app.state.frontend_version
        answer = client(app).get(
            f"/assets/{version}/js/app.js", headers={"accept-encoding": "gzip"}
        )
        assert answer.headers["content-encoding"] == "gzip"
        assert "import" in answer.text

    def test_an_old_version_gets_todays_file_without_a_long_cache(self, app: FastAPI) -> None:
        answer = client(app).get("/assets/0000old/js/app.js")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-cache"

    def test_unknown_files_and_api_paths_are_404_json_not_the_shell(self, app: FastAPI) -> None:
        c = client(app)
        version = app.state.frontend_version
        for path in ["/api/nothing-here", "/api/couples/x/y/z", f"/assets/{version}/nope.js"]:
            answer = c.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/json"
        assert c.get(f"/assets/{version}/../pyproject.toml").status_code == 404


STATIC_IMPORT = re.compile(r"""^\s*import\s+(?:[^'"]*?\sfrom\s+)?['"](\.[^'"]+)['"]""", re.M)
DYNAMIC_IMPORT = re.compile(r"""import\(\s*['"](\.[^'"]+)['"]\s*\)""")


def _gzipped(paths: set[Path]) -> int:
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths)


def _closure(start: Path) -> set[Path]:
    """`start` and every module it imports statically, transitively."""
    seen: set[Path] = set()
    todo = [start.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [(path.parent / m).resolve() for m in STATIC_IMPORT.findall(path.read_text())]
    return seen


class TestFrontendFiles:
    def test_javascript_stays_within_50_kb_gzipped(self) -> None:
        """What every start downloads (the shell's static imports and the service worker)
        stays within 50 KB; screens loaded on first use (`import()`: the therapist's
        workspace, printouts) have a budget of their own; no file escapes both."""
        app_js = FRONTEND / "js" / "app.js"
        startup = _closure(app_js) | {(FRONTEND / "sw.js").resolve()}
        lazy: set[Path] = set()
        for path in startup:
            for module in DYNAMIC_IMPORT.findall(path.read_text()):
                lazy |= _closure(path.parent / module)
        lazy -= startup
        total = _gzipped(startup)
        assert total <= JS_BUDGET, f"{total} bytes of gzipped JavaScript at start"
        assert _gzipped(lazy) <= LAZY_BUDGET, f"{_gzipped(lazy)} bytes loaded on first use"
        every = {p.resolve() for p in FRONTEND.rglob("*.js") if "vendor" not in p.parts}
        assert every - startup - lazy == set(), "JavaScript outside both budgets"

    def test_every_module_is_type_checked_and_no_tooling_is_shipped(self) -> None:
        """Each module opts in to TypeScript's checks (scripts/check-frontend runs them), and
        the checkers' files stay beside frontend/: the server ships every file in it to every
        phone."""
        tooling = {"package.json", "package-lock.json", "tsconfig.json", "jsconfig.json"}
        for path in FRONTEND.rglob("*"):
            assert path.name != "node_modules", path
            assert path.name not in tooling and not path.name.endswith(".d.ts"), path
            assert not path.name.startswith("eslint.config"), path
            if path.suffix == ".js":
                assert path.read_text().startswith("// @ts-check\n"), path

    def test_no_inline_scripts_or_styles(self) -> None:
        html = (FRONTEND / "index.html").read_text()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
        assert "<style" not in html
        for path in FRONTEND.rglob("*"):
            if path.suffix in {".html", ".js"}:
                text = path.read_text()
                assert "style=" not in text, path
                assert ".innerHTML" not in text, path

    def test_nothing_points_outside_the_origin(self) -> None:
        allowed = {"http://www.w3.org/2000/svg"}
        url_pattern = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"`)]*")
        for path in FRONTEND.rglob("*"):
            if path.suffix in {".html", ".js", ".css", ".webmanifest"}:
                for url in url_pattern.findall(path.read_text()):
                    assert url in allowed, f"{path.name}: {url}"
