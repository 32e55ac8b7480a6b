"""Races on session logs end in one consistent state: many rounds of two requests at once."""

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from tandem.plans.models import PracticeLog
from tests.conftest import database_kind
from tests.factories import Actor, make_world, new_client
from tests.plans_support import log, published_week

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(database_kind() != "postgresql", reason="needs PostgreSQL"),
]
ROUNDS = 25


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def second_device(app, actor: Actor) -> Actor:
    return Actor(new_client(app), actor.id, actor.email, actor.role, actor.token)


@pytest.fixture
def scene(app):
    world = make_world(app)
    plan = published_week(world)
    return world, plan["items"][0]["id"]


def status_of(engine, log_id: str) -> PracticeLog:
    with Session(engine) as session:
        return session.get(PracticeLog, uuid.UUID(log_id))


def test_confirm_against_withdraw(app, engine, scene):
    world, joint = scene
    for _ in range(ROUNDS):
        waiting = log(world.partner_a, joint).json()
        confirm, withdraw = at_once(
            lambda w=waiting: world.partner_b.post(f"/api/sessions/{w['id']}/confirm"),
            lambda w=waiting: world.partner_a.delete(f"/api/sessions/{w['id']}"),
        )
        stored = status_of(engine, waiting["id"])
        outcome = (confirm.status_code, withdraw.status_code)
        assert outcome in {(200, 409), (409, 204)}, outcome
        assert stored.status == ("done" if outcome[0] == 200 else "withdrawn")


def test_two_confirms_and_confirm_against_dispute(app, engine, scene):
    world, joint = scene
    other_device = second_device(app, world.partner_b)
    for n in range(ROUNDS):
        waiting = log(world.partner_a, joint).json()
        second = "confirm" if n % 2 else "dispute"
        first, other = at_once(
            lambda w=waiting: world.partner_b.post(f"/api/sessions/{w['id']}/confirm"),
            lambda w=waiting, s=second: other_device.post(f"/api/sessions/{w['id']}/{s}"),
        )
        stored = status_of(engine, waiting["id"])
        if second == "confirm":
            assert (first.status_code, other.status_code) == (200, 200)
            assert first.json() == other.json()
            assert stored.status == "done"
        else:
            outcome = (first.status_code, other.status_code)
            assert outcome in {(200, 409), (409, 200)}, outcome
            assert stored.status == ("done" if outcome[0] == 200 else "disputed")


def test_two_replays_of_one_client_id(app, engine, scene):
    world, joint = scene
    other_device = second_device(app, world.partner_a)
    for _ in range(ROUNDS):
        client_id = str(uuid.uuid4())
        one, two = at_once(
            lambda c=client_id: log(world.partner_a, joint, c),
            lambda c=client_id: log(other_device, joint, c),
        )
        assert sorted([one.status_code, two.status_code]) == [200, 201]
        assert one.json() == two.json()
        with Session(engine) as session:
            count = session.exec(
                select(func.count()).where(col(PracticeLog.client_id) == uuid.UUID(client_id))
            ).one()
        assert count == 1


def test_the_other_partner_logging_against_a_withdrawal(app, engine, scene):
    world, joint = scene
    for _ in range(ROUNDS):
        waiting = log(world.partner_a, joint).json()
        logged, withdrawn = at_once(
            lambda: log(world.partner_b, joint),
            lambda w=waiting: world.partner_a.delete(f"/api/sessions/{w['id']}"),
        )
        outcome = (logged.status_code, withdrawn.status_code)
        assert outcome in {(200, 409), (201, 204)}, outcome
        if outcome == (200, 409):
            assert logged.json()["id"] == waiting["id"]
            assert status_of(engine, waiting["id"]).status == "done"
        else:
            assert logged.json()["status"] == "awaiting_partner"
            assert status_of(engine, waiting["id"]).status == "withdrawn"
            # Leave nothing waiting for the next round.
            world.partner_b.delete(f"/api/sessions/{logged.json()['id']}")
