#!/usr/bin/env python3
"""Why `tandem serve` runs on asyncio's event loop, not uvloop (a benchmark, not a test).

Serves one FastAPI route that burns a given CPU time per request, with Tandem's uvicorn options
and each event loop in turn, and drives it with `wrk` at 64 connections: under a full load
uvloop serves newly arrived requests before it finishes the ones already started, so its p99 is
many times its median; asyncio's loop keeps them in order (docs/BENCHMARKS.md, round 5).

    .venv/bin/python scripts/bench_loop.py                   # 0, 300 and 1,000 µs per request
    .venv/bin/python scripts/bench_loop.py --burn 300 --duration 10
"""

import argparse
import re
import shutil
import socket
import subprocess
import sys
import time

import httpx
import uvicorn
from fastapi import FastAPI

from tandem.cli import UVICORN_OPTIONS


def app_burning(microseconds: float) -> FastAPI:
    app = FastAPI()
    seconds = microseconds / 1e6

    @app.get("/burn")
    async def burn() -> dict[str, str]:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        return {"status": "ok"}

    return app


def serve(port: int, microseconds: float, loop: str) -> None:
    options = {**UVICORN_OPTIONS, "loop": loop}
    uvicorn.run(app_burning(microseconds), host="127.0.0.1", port=port, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(microseconds: float, loop: str, duration: int) -> str:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__, "--serve", str(port), str(microseconds), loop],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/burn", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/burn"
        out = subprocess.run(  # noqa: S603
            ["wrk", "-t2", "-c64", f"-d{duration}", "--latency", url],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(10)

    def field(pattern: str) -> str:
        found = re.search(pattern, out)
        return found.group(1) if found else "?"

    p50, p99 = field(r"50%\s+(\S+)"), field(r"99%\s+(\S+)")
    rps = field(r"Requests/sec:\s+(\S+)")
    return f"| {microseconds:,.0f} | {loop} | {rps} | {p50} | {p99} |"


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burn", type=float, action="append", help="µs of CPU per request")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    print("| burn µs/request | loop | req/s | p50 | p99 |\n|---|---|---|---|---|")
    for microseconds in args.burn or [0, 300, 1000]:
        for loop in ("uvloop", "asyncio"):
            print(measure(microseconds, loop, args.duration), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
