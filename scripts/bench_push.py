"""Web Push delivery benchmark: 10,000 couples with a reminder due in the same minute.

Seeds 20,000 partners (one push subscription each, reminders on, one reminder row due now)
with bulk inserts into a fresh database, runs Tandem's dispatcher against the local push
service (in a child process, so it has a core of its own), and prints delivered/s beside
pywebpush's own encrypt-and-sign rate on one core, measured in the same run.

    .venv/bin/python scripts/bench_push.py [--couples 10000] [--batch 1000] [--concurrency 100]
        [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test | --sqlite]

Not a test. The send-time "work left in the plan" check is answered yes for everyone, since the
plans domain is not what is measured here.
"""

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from py_vapid import Vapid  # noqa: E402
from pywebpush import WebPusher  # noqa: E402

from tandem import migrations, progress  # noqa: E402
from tandem.accounts.models import User  # noqa: E402
from tandem.core.config import Settings  # noqa: E402
from tandem.core.db import make_engine, utcnow  # noqa: E402
from tandem.couples.models import Couple, Membership  # noqa: E402
from tandem.reminders import outbox, sender  # noqa: E402
from tandem.reminders.models import (  # noqa: E402
    Notification,
    PushSubscription,
    ReminderPreference,
)
from tandem.reminders.worker import Worker  # noqa: E402
from tests.push_service import PushServiceProcess  # noqa: E402


def ceiling(subscription: dict, vapid: Vapid, seconds: float = 3.0) -> float:
    """pywebpush's encrypt + VAPID sign, one message at a time on this core: messages per
    second of CPU time (wall-clock rates on a shared machine measure the neighbours)."""
    payload = sender.build_payload(
        notification_id=uuid.uuid4(), kind="reminder", data={}, discreet=True
    )
    origin = sender.origin_of(subscription["endpoint"])
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        WebPusher(subscription).encode(payload, "aes128gcm")
        vapid.sign(
            {"sub": "mailto:bench@example.org", "aud": origin, "exp": int(time.time()) + 3600}
        )
        done += 1
    return done / (time.process_time() - start)


def seed(engine, subscriptions: list[dict], couples: int) -> None:
    now = utcnow()
    due = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    users = [uuid.uuid4() for _ in range(2 * couples)]
    couple_ids = [uuid.uuid4() for _ in range(couples)]
    chunk = 5000
    with engine.begin() as connection:

        def bulk(table, rows):
            for start in range(0, len(rows), chunk):
                connection.execute(insert(table), rows[start : start + chunk])

        bulk(
            User,
            [
                {
                    "id": u,
                    "email": f"b-{u.hex}@example.test",
                    "display_name": "B",
                    "role": "partner",
                    "timezone": "UTC",
                    "created_at": now,
                }
                for u in users
            ],
        )
        bulk(
            Couple,
            [{"id": c, "label": "C", "timezone": "UTC", "created_at": now} for c in couple_ids],
        )
        bulk(
            Membership,
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": u,
                    "couple_id": couple_ids[i // 2],
                    "role": "partner",
                    "joined_at": now,
                }
                for i, u in enumerate(users)
            ],
        )
        bulk(
            PushSubscription,
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": u,
                    "endpoint": s["endpoint"],
                    "p256dh": s["keys"]["p256dh"],
                    "auth": s["keys"]["auth"],
                    "created_at": now,
                    "failure_count": 0,
                }
                for u, s in zip(users, subscriptions, strict=True)
            ],
        )
        bulk(
            ReminderPreference,
            [
                {
                    "user_id": u,
                    "enabled": True,
                    "times": [due.strftime("%H:%M")],
                    "weekdays": [0, 1, 2, 3, 4, 5, 6],
                    "timezone": "UTC",
                    "discreet": True,
                    "scheduled_until": due.date() + timedelta(days=5),
                    "updated_at": now,
                }
                for u in users
            ],
        )
        bulk(
            Notification,
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": u,
                    "kind": "reminder",
                    "payload": {"url": "/"},
                    "due_at": due - timedelta(minutes=1),
                    "state": "pending",
                    "attempts": 0,
                    "dedupe_key": f"reminder:{u}:{due.date()}:{due.strftime('%H:%M')}",
                    "expires_at": due + timedelta(hours=12),
                    "created_at": now,
                }
                for u in users
            ],
        )


def timed(module, name: str, totals: dict) -> None:
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    options = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
    if options.sqlite:
        url = f"sqlite:///{data_dir / 'tandem.db'}"
    else:
        admin = create_engine(options.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = options.pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        push_allowed_hosts="127.0.0.1",
        push_allow_insecure=True,
        vapid_subject="mailto:bench@example.org",
    )
    settings.ensure_keys()
    engine = make_engine(settings.database)
    migrations.upgrade(engine)
    progress.has_unfinished_work = lambda *_a, **_k: True  # see the module docstring

    try:
        with PushServiceProcess() as push:
            t0 = time.perf_counter()
            subscriptions = [push.new_subscription() for _ in range(2 * options.couples)]
            seed(engine, subscriptions, options.couples)
            print(
                f"seeded {options.couples} couples, {2 * options.couples} partners and "
                f"subscriptions, one due reminder each, in {time.perf_counter() - t0:.1f} s"
            )
            vapid = sender.load_vapid(settings.vapid_key)
            before = ceiling(subscriptions[0], vapid)

            totals: dict[str, float] = defaultdict(float)
            timed(outbox, "claim", totals)
            timed(outbox, "finish", totals)
            worker = Worker(
                settings,
                engine,
                batch=options.batch,
                concurrency=options.concurrency,
                schedule_every=3600,
            )
            load_before = os.getloadavg()[0]
            start, cpu_start = time.perf_counter(), time.process_time()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                cProfile.runctx(
                    "asyncio.run(worker.run(until_empty=True))",
                    globals(),
                    locals(),
                    os.environ["BENCH_PROFILE"],
                )
            else:
                asyncio.run(worker.run(until_empty=True))
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            load_after = os.getloadavg()[0]
            # Measured before and after the run, so a change in the machine's load between the
            # two measurements shows rather than skews the ratio.
            after = ceiling(subscriptions[0], vapid)
            rate_ceiling = (before + after) / 2
            with engine.connect() as connection:
                sent = connection.execute(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.state == "sent")
                ).scalar_one()
            accepted = len(push.deliveries())
    finally:
        engine.dispose()
        if not options.sqlite:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    rate = sent / elapsed
    cpu_rate = sent / cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"database: {engine.dialect.name}; batch {options.batch}, {options.concurrency} in flight"
    )
    print(f"delivered {sent} (push service accepted {accepted}) in {elapsed:.2f} s: {rate:.0f}/s")
    print(f"  claim {totals['claim']:.2f} s, mark {totals['finish']:.2f} s (database, in all)")
    print(f"  the dispatcher process used {cpu:.2f} s of CPU: {cpu_rate:.0f} delivered per CPU-s")
    print(
        f"pywebpush encrypt + sign on one core: {rate_ceiling:.0f}/CPU-s "
        f"(before the run {before:.0f}, after {after:.0f})"
    )
    print(
        f"ratio, wall clock: {rate / rate_ceiling:.2f}x; per CPU-second: "
        f"{cpu_rate / rate_ceiling:.2f}x (goal >= 0.3x)"
    )
    print(f"load average (2 cores) before/after the run: {load_before:.1f} / {load_after:.1f}")
    print(f"peak memory (this process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
