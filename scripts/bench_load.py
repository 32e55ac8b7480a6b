#!/usr/bin/env python3
"""Load benchmark (not a test): requests/s and p50/p99 latency at 64 concurrent connections.

Seeds N couples (default 10,000), each with two partners and a published plan for the current
week (one joint and one individual item), one therapist per 200 couples, then, for each database
(SQLite, PostgreSQL) and each process count (1, 2), serves the app with `tandem serve
--no-worker` and drives it with `wrk` (Debian: `apt-get install wrk`) at 64 connections for:

- `GET /bare` of scripts/bare_app.py: a bare FastAPI app (one `async def` route returning a small
  dict), same venv, same server and options, one process: the yardstick, measured first and
  last (the mean of the two);
- `GET /healthz`: Tandem's own cheapest endpoint, every middleware and the access log on;
- `GET /api/couples/{id}/plans/current`: the current-plan read, as the couple's partners
  (authentication and the membership check included), spread over many couples;
- `POST /api/plan-items/{id}/sessions`: the session-log write, a new `client_id` each time, on an
  individual item ("session write") and on a joint one ("joint write": it waits for the partner,
  who is notified); the same `client_id` again ("replay write"); another couple's item ("refused
  write", a 404 each time);
- `GET /api/couples`, `GET /api/couples/{id}/notes`, `POST /api/couples/{id}/checkins`: other
  authenticated routes, for the record;

and, one request at a time, `GET /api/therapist/overview` of a therapist with 200 couples.

Every endpoint's figures are printed against the bare endpoint of the same run, by served
requests/s and by the server process's CPU (user + system) per request; it fails (exit 1) when
any request answered 5xx or a server logged "database is locked".

    .venv/bin/python scripts/bench_load.py                       # 10,000 couples, everything
    .venv/bin/python scripts/bench_load.py --couples 1000 --duration 5 --databases sqlite
    .venv/bin/python scripts/bench_load.py --profile read        # py-spy on one server
"""

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_seed import PASSWORD, Seeded, seed  # scripts/bench_*.py, next to this file
from bench_wrk import Figure, Target, cpu_seconds, drive, profile, summarize_profile
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
TANDEM = str(Path(sys.executable).with_name("tandem"))
FIVE_HUNDREDS = re.compile(r'"status":5\d\d')  # in the servers' access log lines
SPACE = uuid.UUID("7d1d5b4e-0c2a-4c55-9a5e-3f1c1f0b7a11")  # the replays' client_ids
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- databases -----------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"tandem_bench_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path


@contextmanager
def servers(url: str, data_dir: Path, count: int, workdir: Path) -> Iterator[list[Server]]:
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": url,
        "TANDEM_DATA_DIR": str(data_dir),
        "TANDEM_HASH_COST": "low",
        "TANDEM_LOG_LEVEL": os.environ.get("TANDEM_LOG_LEVEL", "INFO"),
    }
    started: list[Server] = []
    try:
        for n in range(count):
            port = free_port()
            log = workdir / f"server-{n}-{port}.log"
            process = subprocess.Popen(  # noqa: S603
                [TANDEM, "serve", "--no-worker", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log.open("wb"),
            )
            started.append(Server(port, process, log))
        for server in started:
            wait_ready(server)
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(10)
            except subprocess.TimeoutExpired:
                server.process.kill()


@contextmanager
def bare_server(workdir: Path) -> Iterator[Server]:
    """scripts/bare_app.py: the yardstick, one process, the same server and options."""
    port = free_port()
    log = workdir / f"bare-{port}.log"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "bare_app.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    server = Server(port, process, log)
    try:
        wait_ready(server, "/bare")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(server: Server, path: str = "/readyz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"server on {server.port} exited:\n{server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{server.port}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {server.port} never became ready")


def sign_in(client: httpx.Client, email: str) -> str:
    answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def tokens(port: int, seeded: Seeded) -> tuple[list[str], str]:
    """The actors' access tokens (each actor's couple gets three notes, so the notes list has
    something to read) and the therapist's."""
    found = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for couple, email, _, _ in seeded.actors:
            token = sign_in(client, email)
            found.append(token)
            for n in range(3):
                client.post(
                    f"/api/couples/{couple}/notes",
                    json={"body": f"Note {n}", "visibility": "care_team"},
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
        return found, sign_in(client, seeded.therapist)


CHECKIN = '{"ratings":{"closeness":4,"enjoyment":3},"visibility":"care_team"}'


def endpoints(seeded: Seeded, access: list[str]) -> dict[str, list[Target]]:
    """Tandem's endpoints under load, in the order they are measured."""
    pairs = list(zip(seeded.actors, access, strict=True))
    return {
        "healthz": [("/healthz", access[0], None)],
        "plan read": [(f"/api/couples/{c}/plans/current", t, None) for (c, _, _, _), t in pairs],
        "session write": [
            (f"/api/plan-items/{solo}/sessions", t, "client_id") for (_, _, _, solo), t in pairs
        ],
        # A joint item's log waits for the other partner, who is told (a notification row
        # written with it: in the write's transaction on SQLite, in the same statement on
        # PostgreSQL).
        "joint write": [
            (f"/api/plan-items/{joint}/sessions", t, "client_id") for (_, _, joint, _), t in pairs
        ],
        # The same client_id again and again: the first request writes, the rest are replays.
        "replay write": [
            (f"/api/plan-items/{solo}/sessions", t, f'{{"client_id":"{uuid.uuid5(SPACE, solo)}"}}')
            for (_, _, _, solo), t in pairs
        ],
        # Another couple's item: refused with a 404 after the checks (no 5xx: the log says).
        "refused write": [
            (f"/api/plan-items/{other}/sessions", t, "client_id")
            for (_, t), (_, _, _, other) in zip(pairs, seeded.actors[1:], strict=False)
        ],
        "couples list": [("/api/couples", t, None) for _, t in pairs],
        "notes list": [(f"/api/couples/{c}/notes", t, None) for (c, _, _, _), t in pairs],
        "check-in create": [
            (f"/api/couples/{c}/checkins", t, CHECKIN) for (c, _, _, _), t in pairs
        ],
    }


def one_at_a_time(server: Server, path: str, token: str, count: int = 20) -> Figure:
    """`count` requests one after another (a heavy answer, not a load): median and worst
    latency, and the server's CPU per request."""
    pid = server.process.pid
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.get(path, headers=headers).raise_for_status()  # warm
        cpu_before = cpu_seconds([pid])
        for _ in range(count):
            started = time.perf_counter()
            client.get(path, headers=headers).raise_for_status()
            times.append(time.perf_counter() - started)
        cpu = cpu_seconds([pid]) - cpu_before
    times.sort()
    return Figure(
        rps=count / sum(times),
        p50=1000 * times[len(times) // 2],
        p99=1000 * times[-1],
        non2xx=0,
        errors=0,
        cpu_us=1e6 * cpu / count,
    )


def mean(a: Figure, b: Figure) -> Figure:
    """The same endpoint measured twice (the machine's load drifts)."""
    return Figure(
        rps=(a.rps + b.rps) / 2,
        p50=(a.p50 + b.p50) / 2,
        p99=max(a.p99, b.p99),
        non2xx=a.non2xx + b.non2xx,
        errors=a.errors + b.errors,
        cpu_us=(a.cpu_us + b.cpu_us) / 2,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--couples", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=500, help="partners signed in for the load")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument(
        "--endpoints", help="a comma-separated subset of the endpoints (default: all)"
    )
    parser.add_argument("--profile", choices=["read", "write"], help="py-spy one server instead")
    parser.add_argument("--keep", type=Path, help="work here and keep it (servers' logs, data)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    table: list[Row] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with bare_server(workdir) as yardstick:
            bare_rows: list[Target] = [("/bare", "-", None)]
            for kind in args.databases.split(","):
                with database(kind, workdir) as url:
                    data_dir = workdir / f"data-{kind}"
                    started = time.monotonic()
                    seeded = seed(url, data_dir, args.couples, args.actors)
                    print(
                        f"{kind}: seeded {args.couples} couples in "
                        f"{time.monotonic() - started:.0f} s"
                    )
                    for count in [int(p) for p in args.processes.split(",")]:
                        with servers(url, data_dir, count, workdir) as running:
                            access, therapist = tokens(running[0].port, seeded)
                            targets = endpoints(seeded, access)
                            if args.endpoints:
                                wanted = args.endpoints.split(",")
                                targets = {k: v for k, v in targets.items() if k in wanted}
                            if args.profile:
                                name = "plan read" if args.profile == "read" else "session write"
                                raw = workdir / "profile.txt"
                                spy = threading.Thread(
                                    target=profile,
                                    args=(running[0].process.pid, args.duration - 1, raw),
                                )
                                spy.start()
                                figure = drive(
                                    running[:1], name, targets[name], args.duration, workdir
                                )
                                spy.join()
                                print(f"{kind} {name}: {figure.rps:.0f} req/s under py-spy")
                                print(summarize_profile(raw))
                                return 0
                            # Warm-up: connections, caches, the first query plans.
                            drive([yardstick], "bare", bare_rows, 2, workdir)
                            drive(
                                running, "healthz", endpoints(seeded, access)["healthz"], 2, workdir
                            )
                            drive(
                                running,
                                "plan read",
                                endpoints(seeded, access)["plan read"],
                                2,
                                workdir,
                            )
                            first = drive([yardstick], "bare", bare_rows, args.duration, workdir)
                            figures = {}
                            for name, rows in targets.items():
                                figures[name] = drive(running, name, rows, args.duration, workdir)
                            again = drive([yardstick], "bare", bare_rows, args.duration, workdir)
                            figures = {"bare FastAPI": mean(first, again), **figures}
                            if not args.endpoints or "overview" in args.endpoints:
                                figures["overview, 200 couples (one at a time)"] = one_at_a_time(
                                    running[0], "/api/therapist/overview", therapist
                                )
                            locked = sum(
                                s.log.read_text(errors="replace").count("database is locked")
                                for s in running
                            )
                            bare = figures["bare FastAPI"]
                            # Refusals are meant (non-2xx); a 5xx anywhere is in the access log.
                            served_5xx = sum(
                                len(
                                    re.findall(r'"status":5\d\d', s.log.read_text(errors="replace"))
                                )
                                for s in running
                            )
                            failed |= served_5xx > 0
                            for name, f in figures.items():
                                ratios = (f.rps / bare.rps, bare.cpu_us / f.cpu_us)
                                table.append((kind, count, name, f, ratios, locked))
                                refused = name.startswith("refused")
                                failed |= (f.non2xx > 0 and not refused) or f.errors > 0
                                failed |= locked > 0
                            print_table(table[-len(figures) :])
    print(f"\n## All figures (load average at the end {os.getloadavg()})\n")
    print_table(table)
    return 1 if failed else 0


Row = tuple[str, int, str, Figure, tuple[float, float], int]


def print_table(rows: list[Row]) -> None:
    print(
        "| database | processes | endpoint | req/s | p50 ms | p99 ms | × bare served "
        "| CPU µs/req | × bare by CPU | non-2xx | locked |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, count, name, f, (ratio, cpu_ratio), locked in rows:
        print(
            f"| {kind} | {count} | {name} | {f.rps:,.0f} | {f.p50:.1f} | {f.p99:.1f} | "
            f"{ratio:.2f} | {f.cpu_us:,.0f} | {cpu_ratio:.2f} | {f.non2xx + f.errors} | {locked} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
