#!/usr/bin/env python3
"""Load benchmark (not a test): requests/s and p50/p99 latency at 64 concurrent connections.

Seeds N couples (default 10,000), each with two partners and a published plan for the current
week (one joint and one individual item), then, for each database (SQLite, PostgreSQL) and each
process count (1, 2), serves the app with `tandem serve --no-worker` and drives it with `wrk`
(Debian: `apt-get install wrk`) at 64 connections for:

- `GET /healthz`: the bare endpoint of the same app (the reference);
- `GET /api/couples/{id}/plans/current`: the current-plan read, as the couple's partners
  (authentication and the membership check included), spread over many couples;
- `POST /api/plan-items/{id}/sessions`: the session-log write, a new `client_id` each time.

It prints each endpoint's rate as a ratio to /healthz, and fails (exit 1) when any request
answered 5xx or a server logged "database is locked".

    .venv/bin/python scripts/bench_load.py                       # 10,000 couples, everything
    .venv/bin/python scripts/bench_load.py --couples 1000 --duration 5 --databases sqlite
    .venv/bin/python scripts/bench_load.py --profile read        # py-spy on one server
"""

import argparse
import json
import os
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
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
TANDEM = str(Path(sys.executable).with_name("tandem"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery"
CONNECTIONS = 64
WRK = shutil.which("wrk") or "/usr/bin/wrk"
TIMEZONE = "Europe/Berlin"


# --- seeding -------------------------------------------------------------------------------


@dataclass
class Seeded:
    url: str
    # (couple_id, partner email, joint item id, individual item id) for the actors the load uses
    actors: list[tuple[str, str, str, str]]


def seed(url: str, data_dir: Path, couples: int, actors: int) -> Seeded:
    from tandem import migrations
    from tandem.accounts.models import User
    from tandem.core.config import Settings
    from tandem.core.db import make_engine
    from tandem.core.security import hash_password
    from tandem.couples.models import Couple, Membership
    from tandem.exercises.service import builtin_id, library_entries, sync_library
    from tandem.plans import progress
    from tandem.plans.models import PlanItem, PlanItemAssignee, WeeklyPlan

    settings = Settings(data_dir=data_dir, database_url=url, hash_cost="low")
    settings.ensure_keys()
    engine = make_engine(url)
    migrations.upgrade(engine)
    sync_library(engine)
    entries = library_entries()
    joint_exercise = builtin_id(next(e for e in entries if e["default_mode"] == "joint")["key"])
    solo_exercise = builtin_id(next(e for e in entries if e["default_mode"] == "individual")["key"])
    password_hash = hash_password(PASSWORD, settings)
    now = datetime.now(UTC)
    week = progress.week_of(progress.local_today(TIMEZONE))
    picked: list[tuple[str, str, str, str]] = []
    step = max(1, couples // actors)
    batch = 1000
    with engine.begin() as connection:
        therapists = []
        for t in range(max(1, couples // 100)):
            therapists.append(
                dict(
                    id=uuid.uuid4(),
                    email=f"bench-therapist-{t}@bench.test",
                    password_hash=password_hash,
                    display_name=f"Therapist {t}",
                    role="therapist",
                    timezone=TIMEZONE,
                    created_at=now,
                )
            )
        connection.execute(insert(User.__table__), therapists)
        for start in range(0, couples, batch):
            users, couple_rows, members, plans, items, assignees = [], [], [], [], [], []
            for n in range(start, min(start + batch, couples)):
                couple_id, plan_id = uuid.uuid4(), uuid.uuid4()
                a, b = uuid.uuid4(), uuid.uuid4()
                therapist = therapists[n % len(therapists)]["id"]
                couple_rows.append(
                    dict(id=couple_id, label=f"Couple {n}", timezone=TIMEZONE, created_at=now)
                )
                for uid, who in ((a, "a"), (b, "b")):
                    users.append(
                        dict(
                            id=uid,
                            email=f"bench-{n}-{who}@bench.test",
                            password_hash=password_hash,
                            display_name=f"Partner {who}",
                            role="partner",
                            timezone=TIMEZONE,
                            created_at=now,
                        )
                    )
                for uid, role in ((a, "partner"), (b, "partner"), (therapist, "therapist")):
                    members.append(
                        dict(
                            id=uuid.uuid4(),
                            couple_id=couple_id,
                            user_id=uid,
                            role=role,
                            joined_at=now,
                        )
                    )
                plans.append(
                    dict(
                        id=plan_id,
                        couple_id=couple_id,
                        week_start=week,
                        status="published",
                        note="",
                        created_by=therapist,
                        created_at=now,
                        updated_at=now,
                        published_at=now,
                    )
                )
                joint, solo = uuid.uuid4(), uuid.uuid4()
                for position, (item_id, exercise, mode) in enumerate(
                    ((joint, joint_exercise, "joint"), (solo, solo_exercise, "individual"))
                ):
                    items.append(
                        dict(
                            id=item_id,
                            plan_id=plan_id,
                            exercise_id=exercise,
                            mode=mode,
                            times_per_week=3,
                            minutes=20,
                            instructions="",
                            position=position,
                            created_at=now,
                        )
                    )
                assignees.append(dict(plan_item_id=solo, user_id=a))
                if n % step == 0 and len(picked) < actors:
                    picked.append(
                        (str(couple_id), f"bench-{n}-a@bench.test", str(joint), str(solo))
                    )
            connection.execute(insert(User.__table__), users)
            connection.execute(insert(Couple.__table__), couple_rows)
            connection.execute(insert(Membership.__table__), members)
            connection.execute(insert(WeeklyPlan.__table__), plans)
            connection.execute(insert(PlanItem.__table__), items)
            connection.execute(insert(PlanItemAssignee.__table__), assignees)
    engine.dispose()
    return Seeded(url, picked)


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


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"server on {server.port} exited:\n{server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {server.port} never became ready")


def tokens(port: int, seeded: Seeded) -> list[str]:
    found = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for _, email, _, _ in seeded.actors:
            answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            answer.raise_for_status()
            found.append(answer.json()["access_token"])
    return found


# --- load ----------------------------------------------------------------------------------

LUA = r"""
targets = {%(targets)s}
counter = 0
thread_id = 0  -- set per thread by setup(); globals, so thread:set reaches them
local n = 0

function setup(thread)
  thread:set("thread_id", %(offset)d + n)
  n = n + 1
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local t = targets[(counter * 7 + thread_id) %% #targets + 1]
  local headers = {["Authorization"] = "Bearer " .. t[2], ["Content-Type"] = "application/json"}
  if t[3] then
    local client_id = string.format("%%08x-%%04x-4000-8000-%%012x", %(run)d, thread_id, counter)
    return wrk.format("POST", t[1], headers, '{"client_id":"' .. client_id .. '"}')
  end
  return wrk.format("GET", t[1], headers)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "non2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_ms": %%f, "p99_ms": %%f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_script(workdir: Path, name: str, targets: list[tuple[str, str, bool]], offset: int) -> Path:
    rows = ",".join(
        "{" + f'"{path}","{token}",{"true" if post else "false"}' + "}"
        for path, token, post in targets
    )
    run = int.from_bytes(os.urandom(3), "big")
    script = workdir / f"{name}-{offset}.lua"
    script.write_text(LUA % {"targets": rows, "offset": offset, "run": run})
    return script


@dataclass
class Figure:
    rps: float
    p50: float
    p99: float
    non2xx: int
    errors: int
    cpu_us: float = 0.0  # server CPU (user + system) per request, all processes together


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the servers used so far: unlike req/s, not skewed by other load on the box."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def drive(
    running: list["Server"],
    name: str,
    targets: list[tuple[str, str, bool]],
    seconds: int,
    workdir: Path,
) -> Figure:
    """64 connections in all, split evenly across the servers, one wrk per server."""
    ports = [s.port for s in running]
    pids = [s.process.pid for s in running]
    cpu_before = cpu_seconds(pids)
    per = CONNECTIONS // len(ports)
    runs = []
    for n, port in enumerate(ports):
        script = lua_script(workdir, name, targets, offset=100 * n)
        runs.append(
            subprocess.Popen(  # noqa: S603
                [
                    WRK,
                    f"-t{max(1, 2 // len(ports))}",
                    f"-c{per}",
                    f"-d{seconds}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(script),
                    f"http://127.0.0.1:{port}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for run in runs:
        out, _ = run.communicate()
        line = next(line for line in out.splitlines() if line.startswith("RESULT "))
        results.append(json.loads(line.removeprefix("RESULT ")))
    cpu = cpu_seconds(pids) - cpu_before
    requests = sum(r["requests"] for r in results)
    return Figure(
        cpu_us=1e6 * cpu / max(1, requests),
        rps=sum(r["requests"] / r["seconds"] for r in results),
        # Two wrk runs cannot merge their histograms: the worse of the two is reported.
        p50=max(r["p50_ms"] for r in results),
        p99=max(r["p99_ms"] for r in results),
        non2xx=sum(r["non2xx"] for r in results),
        errors=sum(r["socket_errors"] for r in results),
    )


def endpoints(seeded: Seeded, access: list[str]) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        "healthz": [("/healthz", access[0], False)],
        "plan read": [
            (f"/api/couples/{couple}/plans/current", token, False)
            for (couple, _, _, _), token in zip(seeded.actors, access, strict=True)
        ],
        "session write": [
            (f"/api/plan-items/{solo}/sessions", token, True)
            for (_, _, _, solo), token in zip(seeded.actors, access, strict=True)
        ],
    }


def profile(pid: int, seconds: int, output: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    subprocess.run(  # noqa: S603
        [
            py_spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-f",
            "raw",
            "-o",
            str(output),
            "--nonblocking",
        ],
        check=True,
        capture_output=True,
    )


def summarize_profile(raw: Path, top: int = 25) -> str:
    """Own time and total time per function, from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        samples += n
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 2)[-1]
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    lines = [f"{samples} samples", "total%  own%  function"]
    for frame, n in sorted(total.items(), key=lambda kv: -kv[1])[: top * 3]:
        if n / samples < 0.02:
            break
        lines.append(f"{100 * n / samples:5.1f}  {100 * own.get(frame, 0) / samples:5.1f}  {frame}")
    lines.append("-- by own time --")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * n / samples:5.1f}  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--couples", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=500, help="partners signed in for the load")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--profile", choices=["read", "write"], help="py-spy one server instead")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    table = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        workdir = Path(tmp)
        for kind in args.databases.split(","):
            with database(kind, workdir) as url:
                data_dir = workdir / f"data-{kind}"
                started = time.monotonic()
                seeded = seed(url, data_dir, args.couples, args.actors)
                print(
                    f"{kind}: seeded {args.couples} couples in {time.monotonic() - started:.0f} s"
                )
                for count in [int(p) for p in args.processes.split(",")]:
                    with servers(url, data_dir, count, workdir) as running:
                        access = tokens(running[0].port, seeded)
                        targets = endpoints(seeded, access)
                        if args.profile:
                            name = "plan read" if args.profile == "read" else "session write"
                            raw = workdir / "profile.txt"
                            spy = threading.Thread(
                                target=profile,
                                args=(running[0].process.pid, args.duration - 1, raw),
                            )
                            spy.start()
                            figure = drive(running[:1], name, targets[name], args.duration, workdir)
                            spy.join()
                            print(f"{kind} {name}: {figure.rps:.0f} req/s under py-spy")
                            print(summarize_profile(raw))
                            return 0
                        # Warm-up: connections, caches, the first query plans.
                        drive(running, "healthz", targets["healthz"], 2, workdir)
                        drive(running, "plan read", targets["plan read"], 2, workdir)
                        figures = {}
                        for name, rows in targets.items():
                            figures[name] = drive(running, name, rows, args.duration, workdir)
                        # The machine's load drifts: /healthz again, and the mean of the two.
                        again = drive(
                            running, "healthz", targets["healthz"], args.duration, workdir
                        )
                        first = figures["healthz"]
                        figures["healthz"] = Figure(
                            rps=(first.rps + again.rps) / 2,
                            p50=(first.p50 + again.p50) / 2,
                            p99=max(first.p99, again.p99),
                            non2xx=first.non2xx + again.non2xx,
                            errors=first.errors + again.errors,
                            cpu_us=(first.cpu_us + again.cpu_us) / 2,
                        )
                        locked = sum(
                            s.log.read_text(errors="replace").count("database is locked")
                            for s in running
                        )
                        bare = figures["healthz"]
                        for name, f in figures.items():
                            ratios = (f.rps / bare.rps, bare.cpu_us / f.cpu_us)
                            table.append((kind, count, name, f, ratios, locked))
                            failed |= f.non2xx > 0 or f.errors > 0 or locked > 0
                        print_table(table[-3:])
    print("\n## All figures\n")
    print_table(table)
    return 1 if failed else 0


def print_table(rows: list) -> None:
    print(
        "| database | processes | endpoint | req/s | p50 ms | p99 ms | × /healthz "
        "| CPU µs/req | × /healthz by CPU | non-2xx | locked |"
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
