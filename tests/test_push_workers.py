"""Several `tandem worker` processes on one PostgreSQL database: nothing lost, nothing doubled."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.accounts.models import User
from tandem.core.config import Settings
from tandem.core.db import utcnow, write_session
from tandem.reminders import outbox
from tandem.reminders.models import Notification, PushSubscription
from tests.conftest import database_kind
from tests.push_service import Behaviour, PushService

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.postgres_only,
    pytest.mark.skipif(database_kind() != "postgresql", reason="needs PostgreSQL"),
]
TANDEM = Path(sys.executable).with_name("tandem")


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


def seed(engine: Engine, push: PushService, *, users: int, rows: int, **behaviour) -> list[dict]:
    """Users with one loopback subscription each and `rows` due event notifications."""
    now = utcnow()
    user_ids = [uuid.uuid4() for _ in range(users)]
    subscriptions = [push.new_subscription(Behaviour(**behaviour)) for _ in range(users)]
    with write_session(engine) as session:
        session.execute(delete(Notification))
        session.execute(delete(PushSubscription))
        session.execute(
            insert(User),
            [
                {
                    "id": u,
                    "email": f"w-{u.hex}@example.test",
                    "display_name": "W",
                    "role": "partner",
                    "timezone": "UTC",
                    "created_at": now,
                }
                for u in user_ids
            ],
        )
        session.execute(
            insert(PushSubscription),
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
                for u, s in zip(user_ids, subscriptions, strict=True)
            ],
        )
        session.execute(
            insert(Notification),
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_ids[n % users],
                    "kind": "plan_published",
                    "payload": {"url": "/"},
                    "due_at": now,
                    "dedupe_key": f"bench:{n}",
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for n in range(rows)
            ],
        )
        session.commit()
    return subscriptions


def worker(settings: Settings, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": str(settings.database_url),
        "TANDEM_DATA_DIR": str(settings.data_dir),
        "TANDEM_PUSH_ALLOWED_HOSTS": "127.0.0.1",
        "TANDEM_PUSH_ALLOW_INSECURE": "true",
        "TANDEM_HASH_COST": "low",
    }
    return subprocess.Popen([str(TANDEM), "worker", *args], env=env)


def states(engine: Engine) -> Counter:
    with Session(engine) as session:
        return Counter(session.exec(select(Notification.state)).all())


def test_two_workers_deliver_each_notification_exactly_once(engine, settings, push):
    seed(engine, push, users=200, rows=2000)
    workers = [worker(settings, "--until-empty", "--batch", "100") for _ in range(2)]
    for process in workers:
        assert process.wait(timeout=120) == 0

    deliveries = push.wait_for(2000, timeout=10)
    ids = Counter(json.loads(d.plaintext)["id"] for d in deliveries)
    assert len(ids) == 2000
    assert set(ids.values()) == {1}
    assert states(engine) == {"sent": 2000}
    assert len({d.topic for d in deliveries}) == 2000


def test_sigterm_lets_sends_in_flight_finish(engine, settings, push):
    seed(engine, push, users=20, rows=20, delay=1.0)
    process = worker(settings)
    try:
        push.wait_for(1, timeout=30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.1)
    found = states(engine)
    assert "sending" not in found
    assert found["sent"] == len(push.deliveries())


def test_a_worker_killed_mid_send_is_taken_over_and_the_resend_keeps_its_topic(
    engine, settings, push
):
    # The push service records the push on arrival and answers only 5 s later: the worker is
    # killed in between, after the service accepted the push and before the row was marked.
    [subscription] = seed(engine, push, users=1, rows=1, delay=5.0, times=1)
    doomed = worker(settings, "--lease-seconds", "2")
    try:
        push.wait_for(1, timeout=30)
        doomed.kill()
        doomed.wait(timeout=10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert states(engine) == {"sending": 1}
    time.sleep(2.5)  # the dead worker's lease runs out
    heir = worker(settings, "--until-empty", "--lease-seconds", "2")
    assert heir.wait(timeout=60) == 0

    deliveries = push.wait_for(2, timeout=10, endpoint=subscription["endpoint"])
    assert len({d.topic for d in deliveries}) == 1
    assert len({json.loads(d.plaintext)["id"] for d in deliveries}) == 1
    assert states(engine) == {"sent": 1}


def test_a_worker_killed_before_sending_leaves_the_row_to_be_sent_once(engine, settings, push):
    [subscription] = seed(engine, push, users=1, rows=1)
    # A claim whose worker died at once: the row is leased but nothing was sent.
    outbox.claim(engine, now=utcnow(), limit=10, lease_seconds=2)
    assert states(engine) == {"sending": 1}
    time.sleep(2.5)
    heir = worker(settings, "--until-empty", "--lease-seconds", "2")
    assert heir.wait(timeout=60) == 0
    assert len(push.wait_for(1, timeout=10, endpoint=subscription["endpoint"])) == 1
    time.sleep(0.5)
    assert len(push.deliveries(subscription["endpoint"])) == 1
    assert states(engine) == {"sent": 1}
