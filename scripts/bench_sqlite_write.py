#!/usr/bin/env python3
"""Where a practice-log write's CPU goes on SQLite, in-process (a benchmark, not a test).

Seeds a SQLite file as scripts/bench_load.py does, then measures, per write and in CPU time:

- "sqlite only": what SQLite itself costs for a new individual log, the two inserts and the
  commit on the stdlib driver, with a checkpoint every 250 writes (the checkpointer's share);
- "use case": the write's use case (`practice_logs._log`: the checks' query, the inserts, the
  commit, the answer) on the event loop's kept writer, without HTTP;
- "use case, replay": the same for a replay (the checks' query and the answer, nothing
  written).

Served figures come from scripts/bench_load.py; these say which part of them SQLite's own
work is (docs/BENCHMARKS.md, issue 15, round 6).

    .venv/bin/python scripts/bench_sqlite_write.py
    .venv/bin/python scripts/bench_sqlite_write.py --couples 20 --writes 50   # a smoke
"""

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench_seed import seed

# The partners and the individual items they may log (assigned to them, or to nobody).
MAY_LOG = """
SELECT m.user_id, i.id FROM plan_item i
JOIN weekly_plan p ON p.id = i.plan_id
JOIN membership m ON m.couple_id = p.couple_id AND m.role = 'partner'
WHERE i.mode = 'individual' AND NOT EXISTS (
    SELECT 1 FROM plan_item_assignee a WHERE a.plan_item_id = i.id AND a.user_id != m.user_id)
"""
INSERT_LOG = (
    "INSERT INTO session_log (id, plan_item_id, logged_by, done_on, status, client_id,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, 'done', ?, ?, ?)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
INSERT_REQUEST = (
    "INSERT INTO session_log_request (user_id, client_id, session_log_id, created_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING session_log_id"
)


def per_write(started: float, writes: int) -> str:
    return f"{(time.process_time() - started) / writes * 1e6:.0f} µs"


def sqlite_only(path: Path, pairs: list[tuple[str, str]], writes: int) -> str:
    writer = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0"):
        writer.execute(f"PRAGMA {pragma}")
    checkpointer = sqlite3.connect(path, isolation_level=None)
    today = datetime.now(UTC).date().isoformat()
    started = time.process_time()
    for n in range(writes):
        user, item = random.choice(pairs)
        log, client = uuid.uuid4().hex, uuid.uuid4().hex
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(INSERT_LOG, (log, item, user, today, client, now, now)).fetchall()
        writer.execute(INSERT_REQUEST, (user, client, log, now)).fetchall()
        writer.execute("COMMIT")
        if n % 250 == 249:
            checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    figure = per_write(started, writes)
    writer.close()
    checkpointer.close()
    return figure


def use_case(url: str, pairs: list[tuple[str, str]], writes: int, *, replay: bool) -> str:
    from tandem.core import loop_db
    from tandem.core.db import make_engine
    from tandem.core.transactions import ConnectionTx
    from tandem.plans import practice_logs
    from tandem.plans.models import PracticeLogCreate

    engine = make_engine(url)
    connection = loop_db._held(engine).connection(write=True)
    kek = os.urandom(32)
    asked = [
        (uuid.UUID(u), uuid.UUID(i), uuid.uuid4())
        for u, i in random.sample(pairs, min(200, len(pairs)))
    ]

    def once(n: int) -> None:
        if replay:
            user, item, client = asked[n % len(asked)]
        else:
            user, item, client = *map(uuid.UUID, pairs[n % len(pairs)]), uuid.uuid4()
        try:
            practice_logs._log(
                ConnectionTx(connection),
                user_id=user,
                sign_in_id=None,
                item_id=item,
                data=PracticeLogCreate(client_id=client),
                kek=kek,
            )
        finally:
            loop_db._done_with(connection)

    for n in range(len(asked)):  # the replays' first writes, and a warm-up
        once(n)
    started = time.process_time()
    for n in range(writes):
        once(n)
    figure = per_write(started, writes)
    loop_db.dispose(engine)
    engine.dispose()
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--couples", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=4000, help="writes per measurement")
    args = parser.parse_args()
    writes = args.writes
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        seed(url, Path(tmp) / "data", args.couples, min(500, args.couples))
        with sqlite3.connect(path) as reading:
            pairs = [(str(u), str(i)) for u, i in reading.execute(MAY_LOG)]
        print(f"per write, CPU, {writes} writes, {args.couples} couples")
        print(f"sqlite only:       {sqlite_only(path, pairs, writes)}")
        print(f"use case:          {use_case(url, pairs, writes, replay=False)}")
        print(f"use case, replay:  {use_case(url, pairs, writes, replay=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
