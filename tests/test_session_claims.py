"""A practice log's client_id is claimed by INSERT ... ON CONFLICT DO NOTHING
(plans/practice_logs.py).

The log route answers replays from the query that checks everything, before writing; these
tests take the path a request takes when the same client_id was committed after that query
(two requests racing on PostgreSQL): nothing of the loser stays, and it answers the winner's log.
"""

import uuid

import pytest
from sqlmodel import Session, col, func, select

from tandem.core.db import utcnow, write_engine
from tandem.core.prepared import run_steps
from tandem.core.transactions import ConnectionTx
from tandem.plans import practice_logs
from tandem.plans.models import LogStatus, PracticeLog, PracticeLogRead
from tests.factories import make_world
from tests.plans_support import log, published_week, today


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.fixture
def plan(world):
    return published_week(world)  # items: joint ×3, individual ×2 for both


def new_log(item_id: str, user_id: str, client_id: str, status: LogStatus) -> PracticeLogRead:
    return PracticeLogRead(
        id=uuid.uuid4(),
        plan_item_id=uuid.UUID(item_id),
        logged_by=uuid.UUID(user_id),
        done_on=today(),
        status=status,
        confirmed_by=None,
        disputed_by=None,
        client_id=uuid.UUID(client_id),
        created_at=utcnow(),
    )


def dialect(connection) -> str:  # noqa: ANN001
    return connection.dialect.name


def logs_with(engine, client_id: str) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).where(col(PracticeLog.client_id) == uuid.UUID(client_id))
        ).one()


class TestClaimingAClientIdTakenAMomentAgo:
    def test_a_new_log_is_not_written_and_the_winners_log_is_the_answer(self, engine, world, plan):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        winner = log(world.partner_a, solo, client_id)
        assert winner.status_code == 201
        loser = new_log(solo, world.partner_a.id, client_id, LogStatus.done)
        with write_engine(engine).connect() as connection:
            assert not run_steps(connection, practice_logs._insert_new(dialect(connection), loser))
            answer = practice_logs._lost_race(
                ConnectionTx(connection),
                user_id=uuid.UUID(world.partner_a.id),
                client_id=uuid.UUID(client_id),
                item_id=uuid.UUID(solo),
            )
        assert answer.created is False
        assert answer.log.model_dump(mode="json") == winner.json()
        assert logs_with(engine, client_id) == 1

    def test_a_log_whose_client_id_confirmed_the_partners_log_is_undone(self, engine, world, plan):
        joint = plan["items"][0]["id"]
        waiting = log(world.partner_a, joint).json()
        client_id = str(uuid.uuid4())
        confirmation = log(world.partner_b, joint, client_id)
        assert confirmation.status_code == 200
        assert confirmation.json()["id"] == waiting["id"]
        # The log row itself is new (partner B has no log with this client_id): only the
        # claim of the client_id fails, and the log goes with it.
        loser = new_log(joint, world.partner_b.id, client_id, LogStatus.awaiting_partner)
        with write_engine(engine).connect() as connection:
            assert not run_steps(connection, practice_logs._insert_new(dialect(connection), loser))
            answer = practice_logs._lost_race(
                ConnectionTx(connection),
                user_id=uuid.UUID(world.partner_b.id),
                client_id=uuid.UUID(client_id),
                item_id=uuid.UUID(joint),
            )
        assert answer.created is False
        assert answer.log.model_dump(mode="json") == confirmation.json()
        with Session(engine) as session:
            assert session.get(PracticeLog, loser.id) is None

    def test_a_confirmation_whose_client_id_is_taken_claims_nothing(self, engine, world, plan):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        taken = log(world.partner_a, solo, client_id).json()
        with write_engine(engine).connect() as connection:
            claim = {
                "user_id": uuid.UUID(world.partner_a.id),
                "client_id": uuid.UUID(client_id),
                "id": uuid.UUID(taken["id"]),
                "created_at": utcnow(),
            }
            steps = practice_logs._claim_request(dialect(connection), claim)
            assert not run_steps(connection, steps)
            connection.rollback()

    def test_a_free_client_id_is_claimed_with_its_log(self, engine, world, plan):
        solo = plan["items"][1]["id"]
        client_id = str(uuid.uuid4())
        fresh = new_log(solo, world.partner_a.id, client_id, LogStatus.done)
        with write_engine(engine).connect() as connection:
            assert run_steps(connection, practice_logs._insert_new(dialect(connection), fresh))
            connection.commit()
        replay = log(world.partner_a, solo, client_id)
        assert replay.status_code == 200
        assert replay.json() == fresh.model_dump(mode="json")


class TestNotificationsOfALog:
    def test_a_joint_log_and_its_confirmation_write_their_outbox_rows_with_them(
        self, engine, world, plan
    ):
        from tandem.reminders.models import Notification

        joint = plan["items"][0]["id"]
        waiting = log(world.partner_a, joint)
        assert waiting.status_code == 201
        confirmed = log(world.partner_b, joint)
        assert confirmed.status_code == 200
        log_id = waiting.json()["id"]
        with Session(engine) as session:
            rows = session.exec(
                select(Notification.dedupe_key, Notification.user_id).where(
                    col(Notification.dedupe_key).in_(
                        [
                            f"logged:{log_id}:{world.partner_b.id}",
                            f"confirmed:{log_id}:{world.partner_a.id}",
                        ]
                    )
                )
            ).all()
        assert sorted((key.split(":")[0], str(user)) for key, user in rows) == [
            ("confirmed", world.partner_a.id),
            ("logged", world.partner_b.id),
        ]
