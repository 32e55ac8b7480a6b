"""Driving scripts/bench_load.py's servers: `wrk` with a Lua script per endpoint (64
connections in all), the servers' CPU time from /proc, and py-spy for `--profile`."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONNECTIONS = 64
WRK = shutil.which("wrk") or "/usr/bin/wrk"


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
  if t[3] == "client_id" then
    local client_id = string.format("%%08x-%%04x-4000-8000-%%012x", %(run)d, thread_id, counter)
    return wrk.format("POST", t[1], headers, '{"client_id":"' .. client_id .. '"}')
  elseif t[3] then
    return wrk.format("POST", t[1], headers, t[3])
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


# (path, bearer token, body): no body is a GET; "client_id" is a POST of a fresh client_id.
Target = tuple[str, str, str | None]


def lua_script(workdir: Path, name: str, targets: list[Target], offset: int) -> Path:
    rows = ",".join(
        "{" + f'"{path}","{token}",' + ("nil" if body is None else "[[" + body + "]]") + "}"
        for path, token, body in targets
    )
    run = int.from_bytes(os.urandom(3), "big")
    script = workdir / f"{name.replace(' ', '-')}-{offset}.lua"
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
    running: list[Any],  # bench_load.Server: .port, .process
    name: str,
    targets: list[Target],
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
