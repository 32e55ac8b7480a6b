"""The production shape on one machine: two API processes and two workers on one PostgreSQL
database, clients spread across both APIs, a local push service, and one API killed mid-load.

What must hold: every notification reaches the push service exactly once, and every write that
an API acknowledged to a client is in the database afterwards.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tandem import migrations
from tandem.core.db import make_engine
from tests.conftest import _create_pg_database, _drop_pg_database, database_kind
from tests.plans_support import JOINT, this_monday
from tests.push_service import PushServiceProcess

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(database_kind() != "postgresql", reason="several processes: PostgreSQL"),
]

COUPLES = 6
ROUNDS = 5  # each round: partner A logs the joint item, partner B confirms it
PASSWORD = "correct horse battery"
TANDEM = [sys.executable, "-m", "tandem.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    apis: list[tuple[int, subprocess.Popen]]
    workers: list[subprocess.Popen]
    logs: list[Path]

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port, _ in self.apis]


@pytest.fixture
def database() -> Iterator[str]:
    name = f"tandem_multi_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(name)
    yield url
    _drop_pg_database(name)


@pytest.fixture
def push() -> Iterator[PushServiceProcess]:
    with PushServiceProcess() as service:
        yield service


@pytest.fixture
def cluster(database: str, tmp_path: Path) -> Iterator[Cluster]:
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": database,
        "TANDEM_DATA_DIR": str(tmp_path / "data"),  # one data directory: shared generated keys
        "TANDEM_HASH_COST": "low",
        "TANDEM_PUSH_ALLOWED_HOSTS": "127.0.0.1",
        "TANDEM_PUSH_ALLOW_INSECURE": "true",
        "TANDEM_LOG_LEVEL": "WARNING",
        # Each phone of the load has its own address (X-Forwarded-For), as people at home do;
        # all from one address, the sign-up limit would rightly stop them.
        "TANDEM_TRUSTED_PROXIES": "127.0.0.1",
    }
    engine = make_engine(database)
    migrations.upgrade(engine)  # what the compose file's one-shot `migrate` does
    engine.dispose()
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(*args: str) -> subprocess.Popen:
        log = tmp_path / f"{args[0]}-{len(logs)}.log"
        logs.append(log)
        process = subprocess.Popen(  # noqa: S603
            [*TANDEM, *args], env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb")
        )
        processes.append(process)
        return process

    try:
        apis = []
        for _ in range(2):
            port = _free_port()
            apis.append((port, start("serve", "--no-worker", "--port", str(port))))
        workers = [start("worker"), start("worker")]
        # Four processes importing and migrating-checking at once on two cores: give them time.
        deadline = time.monotonic() + 90
        for port, process in apis:
            while True:
                assert process.poll() is None, logs[0].read_text()[-2000:]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "API processes never became ready"
                time.sleep(0.1)
        yield Cluster(apis, workers, logs)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_ADDRESSES: list[str] = []


@dataclass
class Client:
    """One person's phone: it talks to either API and fails over when one is gone."""

    urls: list[str]
    preferred: int
    token: str = ""
    id: str = ""
    clients: list[httpx.Client] = field(default_factory=list)

    def __post_init__(self) -> None:
        address = f"198.51.100.{len(_ADDRESSES) % 250 + 1}"
        _ADDRESSES.append(address)
        self.clients = [
            httpx.Client(base_url=url, timeout=15, headers={"X-Forwarded-For": address})
            for url in self.urls
        ]

    def call(self, method: str, path: str, *, retry: bool = True, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        order = [self.preferred, 1 - self.preferred]
        last: Exception | None = None
        for index in order if retry else order[:1]:
            try:
                return self.clients[index].request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:  # that API is gone: not acknowledged
                last = exc
                self.preferred = 1 - index
        raise AssertionError(f"no API answered {method} {path}") from last


def _person(urls: list[str], n: int, role: str, code: str | None = None) -> Client:
    person = Client(urls, preferred=n % 2)
    email = f"{role}-{uuid.uuid4().hex[:10]}@multi.test"
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": role.title(),
        "role": role,
        "timezone": "Europe/Berlin",
        **({"invitation_code": code} if code else {}),
    }
    created = person.call("POST", "/api/auth/register", json=body)
    assert created.status_code == 201, created.text
    person.id = created.json()["id"]
    login = person.call("POST", "/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    person.token = login.json()["access_token"]
    return person


def _subscribe(person: Client, push: PushServiceProcess) -> None:
    answer = person.call("POST", "/api/push/subscriptions", json=push.new_subscription())
    assert answer.status_code in (200, 201), answer.text


@dataclass
class Acknowledged:
    logged: dict[str, str] = field(default_factory=dict)  # session log id -> status answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, log_id: str, status: str) -> None:
        with self.lock:
            self.logged[log_id] = status


def _couple(urls: list[str], n: int, push: PushServiceProcess) -> tuple[Client, Client, str]:
    therapist = _person(urls, n, "therapist")
    couple = therapist.call(
        "POST", "/api/couples", json={"label": f"Couple {n}", "timezone": "Europe/Berlin"}
    ).json()["id"]
    partners = []
    for k in range(2):
        code = therapist.call(
            "POST", f"/api/couples/{couple}/invitations", json={"role": "partner"}
        ).json()["code"]
        partner = _person(urls, n + k, "partner", code)
        _subscribe(partner, push)
        partners.append(partner)
    week = this_monday()
    plan = therapist.call(
        "PUT",
        f"/api/couples/{couple}/plans/{week}",
        json={"note": "", "items": [{"exercise_id": JOINT, "mode": "joint", "times_per_week": 14}]},
    )
    assert plan.status_code == 200, plan.text
    published = therapist.call("POST", f"/api/couples/{couple}/plans/{week}/publish")
    assert published.status_code == 200, published.text
    return partners[0], partners[1], published.json()["items"][0]["id"]


def _rounds(a: Client, b: Client, item_id: str, acknowledged: Acknowledged) -> None:
    """A logs, B confirms, ROUNDS times; each on the API it prefers, the other when it fails."""
    for _ in range(ROUNDS):
        client_id = str(uuid.uuid4())
        # A retried log carries the same client_id, so it can never count twice.
        logged = a.call(
            "POST", f"/api/plan-items/{item_id}/sessions", json={"client_id": client_id}
        )
        assert logged.status_code in (200, 201), logged.text
        log = logged.json()
        acknowledged.record(log["id"], log["status"])
        assert log["status"] == "awaiting_partner"
        try:
            confirmed = b.call("POST", f"/api/sessions/{log['id']}/confirm", retry=False)
        except AssertionError:
            # Cut off with its API, committed or not: ask the other one. If the first attempt
            # was committed, the answer is 409 (no longer waiting) and nothing was acknowledged.
            confirmed = b.call("POST", f"/api/sessions/{log['id']}/confirm")
        assert confirmed.status_code in (200, 409), confirmed.text
        if confirmed.status_code == 200:
            acknowledged.record(log["id"], confirmed.json()["status"])
        a.preferred, b.preferred = b.preferred, a.preferred  # spread over both APIs


def test_two_apis_two_workers_one_api_killed_mid_load(
    cluster: Cluster, push: PushServiceProcess, database: str
) -> None:
    started = time.monotonic()
    urls = cluster.urls()
    with ThreadPoolExecutor(COUPLES) as pool:
        couples = list(pool.map(lambda n: _couple(urls, n, push), range(COUPLES)))
    acknowledged = Acknowledged()
    killed = threading.Event()

    def kill_when_busy() -> None:
        # Mid-load: once a third of the expected writes were acknowledged.
        while len(acknowledged.logged) < COUPLES * ROUNDS // 3:
            time.sleep(0.01)
        cluster.apis[0][1].send_signal(signal.SIGKILL)
        killed.set()

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    with ThreadPoolExecutor(COUPLES) as pool:
        for future in [pool.submit(_rounds, a, b, item, acknowledged) for a, b, item in couples]:
            future.result()
    killer.join()
    assert killed.is_set()
    assert cluster.apis[0][1].wait(5) == -signal.SIGKILL

    # Every write acknowledged to a client is in the database, in the state it was answered.
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            stored = dict(connection.execute(text("SELECT id, status FROM session_log")).all())
        stored = {str(k): v for k, v in stored.items()}
        for log_id, status in acknowledged.logged.items():
            assert log_id in stored, f"acknowledged log {log_id} was lost"
            if status == "done":
                assert stored[log_id] == "done"
        assert len(acknowledged.logged) == COUPLES * ROUNDS

        # Every notification reaches the push service exactly once.
        # Four processes importing and migrating-checking at once on two cores: give them time.
        deadline = time.monotonic() + 90
        while True:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT id, state FROM notification")).all()
            if all(state == "sent" for _, state in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    # Published (2 per couple), then per round: "logged" to B and "confirmed" to A.
    assert len(rows) == COUPLES * (2 + 2 * ROUNDS)
    assert Counter(state for _, state in rows) == {"sent": len(rows)}
    delivered = Counter(json.loads(d.plaintext.decode().strip())["id"] for d in push.deliveries())
    assert set(delivered) == {str(notification_id) for notification_id, _ in rows}
    assert set(delivered.values()) == {1}, "a notification reached a phone twice"
    assert time.monotonic() - started < 60
