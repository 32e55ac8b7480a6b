"""Serves the PWA from `frontend/` without StaticFiles: every file is read once at start-up,
kept in memory with a gzip copy, and served under a content-hashed `/assets/<version>/` URL
with a year-long cache lifetime. Only the shell, the service worker and the manifest are
revalidated on every load (they name the current version), so a deploy reaches every phone
on its next start and an unchanged asset is never downloaded twice."""

import gzip
import hashlib
import json
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

VERSION_MARK = "__VERSION__"
PRECACHE_MARK = '"__PRECACHE__"'
# Served at the root scope with their version filled in; everything else lives under /assets.
ROOT_FILES = {"/": "index.html", "/sw.js": "sw.js", "/manifest.webmanifest": "manifest.webmanifest"}
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".js", ".css", ".html", ".webmanifest", ".json", ".svg", ".txt"}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


def _asset(path: Path, body: bytes) -> Asset:
    suffix = path.suffix
    guessed = mimetypes.guess_type(path.name)[0]
    media_type = TYPES.get(suffix) or guessed or "application/octet-stream"
    gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
    if gzipped is not None and len(gzipped) >= len(body):
        gzipped = None
    return Asset(body, gzipped, media_type)


class Frontend:
    def __init__(self, root: Path) -> None:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        digest = hashlib.sha256()
        raw: dict[str, bytes] = {}
        for path in files:
            rel = path.relative_to(root).as_posix()
            raw[rel] = path.read_bytes()
            digest.update(rel.encode() + b"\0" + raw[rel])
        self.version = digest.hexdigest()[:12]
        self.assets = {rel: _asset(root / rel, body) for rel, body in raw.items()}
        # The service worker precaches the shell and every asset of this version.
        precache = ["/", "/manifest.webmanifest"] + [
            f"/assets/{self.version}/{rel}" for rel in raw if rel not in ROOT_FILES.values()
        ]
        self.root_files = {
            url: _asset(root / name, self._fill(raw[name], precache))
            for url, name in ROOT_FILES.items()
            if name in raw
        }

    def _fill(self, body: bytes, precache: list[str]) -> bytes:
        body = body.replace(VERSION_MARK.encode(), self.version.encode())
        return body.replace(PRECACHE_MARK.encode(), json.dumps(precache).encode())

    def respond(self, request: Request, asset: Asset, cache_control: str) -> Response:
        headers = {"cache-control": cache_control, "vary": "accept-encoding"}
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["content-encoding"] = "gzip"
        if request.method == "HEAD":
            headers["content-length"] = str(len(body))
            body = b""
        return Response(body, media_type=asset.media_type, headers=headers)


def install(app: FastAPI, root: Path) -> None:
    if not (root / "index.html").is_file():
        return
    frontend = Frontend(root)
    app.state.frontend_version = frontend.version

    def root_file(url: str) -> Callable[[Request], Awaitable[Response]]:  # a route factory
        async def serve(request: Request) -> Response:
            # no-cache, not no-store: the browser may keep them but must ask before each use.
            return frontend.respond(request, frontend.root_files[url], "no-cache")

        return serve

    for url in frontend.root_files:
        app.add_api_route(url, root_file(url), methods=["GET", "HEAD"], include_in_schema=False)

    async def assets(scope: Scope, receive: Receive, send: Send) -> None:
        # A bare ASGI app, not a route: the cheapest path for the most frequent requests.
        path = scope["path"]
        if path.startswith("/assets/"):
            path = path[len("/assets") :]
        version, _, rel = path.lstrip("/").partition("/")
        request = Request(scope, receive)
        found = frontend.assets.get(rel)
        if request.method not in ("GET", "HEAD"):
            response: Response = JSONResponse({"detail": "Method Not Allowed"}, status_code=405)
        elif found is None or rel in ROOT_FILES.values():
            response = JSONResponse({"detail": "Not Found"}, status_code=404)
        else:
            # A page of the previous deploy may still ask for its old version: give it today's
            # file, but never let that answer be cached as if it were the old one.
            cache = IMMUTABLE if version == frontend.version else "no-cache"
            response = frontend.respond(request, found, cache)
        await response(scope, receive, send)

    app.mount("/assets", assets)
