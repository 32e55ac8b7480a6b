"""Web Push delivery through the local push service: payloads, retries, leases, gone devices."""

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.accounts.models import User
from tandem.core import metrics
from tandem.core.config import Settings
from tandem.core.db import utcnow, write_session
from tandem.reminders import hooks, notices, outbox, scheduler, sender, service
from tandem.reminders.models import (
    Notification,
    PushSubscription,
    ReminderPreference,
    RemindersBody,
    SubscriptionBody,
)
from tandem.reminders.worker import MAX_ATTEMPTS, MAX_SUBSCRIPTION_FAILURES, Dispatcher
from tests.factories import make_world, register
from tests.push_service import Behaviour, PushService

LIBRARY = Path(__file__).resolve().parents[1] / "backend/tandem/exercises/library.json"


@pytest.fixture(scope="module")
def push_server() -> Iterator[PushService]:
    with PushService() as service_:
        yield service_


@pytest.fixture
def push(push_server: PushService) -> PushService:
    push_server.clear()
    return push_server


@pytest.fixture
def loopback(settings: Settings, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Settings:
    """Settings that accept the loopback receiver, and an outbox with only this test's rows."""
    monkeypatch.setattr(settings, "push_allowed_hosts", "127.0.0.1")
    monkeypatch.setattr(settings, "push_allow_insecure", True)
    with write_session(engine) as session:
        session.execute(delete(Notification))
        session.execute(delete(PushSubscription))
        session.commit()
    return settings


@pytest.fixture
def work_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "has_unfinished_work", lambda *_a, **_k: True)


def user_of(engine: Engine, actor_id: str) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = session.get(User, uuid.UUID(actor_id))
        assert user is not None
        return user


def subscribe(engine: Engine, settings: Settings, actor_id: str, subscription: dict) -> None:
    with write_session(engine) as session:
        service.subscribe(
            session,
            user=user_of(engine, actor_id),
            data=SubscriptionBody.model_validate(subscription),
            settings=settings,
            user_agent="test",
        )


def dispatch(dispatcher: Dispatcher, now: datetime | None = None) -> int:
    async def run() -> int:
        try:
            return await dispatcher.dispatch_once(now=now)
        finally:
            await dispatcher.close()

    return asyncio.run(run())


def row(engine: Engine, notification_id: uuid.UUID) -> Notification:
    with Session(engine) as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


def only_row(engine: Engine) -> Notification:
    with Session(engine) as session:
        [found] = session.exec(select(Notification)).all()
        return found


def event_for(engine: Engine, user_id: str) -> uuid.UUID:
    practice_log_id = uuid.uuid4()
    with write_session(engine) as session:
        notices.enqueue(
            session,
            notices.joint_practice_logged(
                practice_log_id=practice_log_id, notify_user_id=uuid.UUID(user_id)
            ),
        )
        session.commit()
    return only_row(engine).id


def set_prefs(engine: Engine, actor_id: str, **values: object) -> None:
    body = {"timezone": "Europe/Berlin", **values}
    with write_session(engine) as session:
        service.set_preferences(
            session, user=user_of(engine, actor_id), data=RemindersBody.model_validate(body)
        )


class TestDelivery:
    def test_an_event_arrives_encrypted_padded_and_discreet(self, app, engine, loopback, push):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)

        assert dispatch(Dispatcher(loopback, engine)) == 1

        [delivery] = push.wait_for(1, endpoint=subscription["endpoint"])
        assert len(delivery.plaintext) == sender.PAYLOAD_SIZE
        message = json.loads(delivery.plaintext)
        assert message["id"] == str(notification_id)
        assert message["title"] == "Tandem"
        assert message["body"] == sender.NEUTRAL
        assert [a["action"] for a in message["actions"]] == ["confirm", "open"]
        assert delivery.topic == sender.topic(notification_id)
        assert len(delivery.topic) == 32
        assert delivery.urgency == "normal"
        assert delivery.ttl > 0
        assert delivery.vapid_claims["sub"] == loopback.vapid_subject
        assert delivery.vapid_claims["exp"] - utcnow().timestamp() <= 12 * 3600 + 5
        assert delivery.vapid_public_key == service.vapid_public_key(loopback)
        stored = row(engine, notification_id)
        assert stored.state == "sent" and stored.sent_at is not None
        assert stored.lease_token is None

    def test_every_payload_is_one_length_and_names_nothing(
        self, app, engine, loopback, push, work_left
    ):
        world = make_world(app)
        titles = [e["title"] for e in json.loads(LIBRARY.read_text())]
        endpoints = {}
        for actor, discreet in ((world.partner_a, False), (world.partner_b, True)):
            set_prefs(engine, actor.id, discreet=discreet, enabled=True, times=["00:00"])
            endpoints[actor.id] = push.new_subscription()
            subscribe(engine, loopback, actor.id, endpoints[actor.id])
        a, b = uuid.UUID(world.partner_a.id), uuid.UUID(world.partner_b.id)
        now = utcnow()
        with write_session(engine) as session:
            notices.plan_published(
                session,
                couple_id=uuid.uuid4(),
                plan_id=uuid.uuid4(),
                week_start=now.date(),
                partner_ids=[a, b],
            )
            for notify in (a, b):
                notices.enqueue(
                    session,
                    notices.joint_practice_logged(
                        practice_log_id=uuid.uuid4(), notify_user_id=notify
                    ),
                )
                notices.enqueue(
                    session,
                    notices.practice_confirmed(practice_log_id=uuid.uuid4(), notify_user_id=notify),
                )
            for user_id in (a, b):
                outbox.insert_ignore(
                    session,
                    [
                        {
                            "user_id": user_id,
                            "kind": "reminder",
                            "payload": {"url": "/"},
                            "due_at": now,
                            "dedupe_key": f"r:{user_id}",
                            "expires_at": now + timedelta(hours=1),
                        }
                    ],
                )
            session.commit()
        for actor in (world.partner_a, world.partner_b):
            actor.post("/api/push/test")

        dispatch(Dispatcher(loopback, engine))

        deliveries = push.wait_for(10)
        assert {len(d.plaintext) for d in deliveries} == {sender.PAYLOAD_SIZE}
        kinds = {json.loads(d.plaintext)["kind"] for d in deliveries}
        assert kinds == {
            "plan_published",
            "joint_session_logged",
            "session_confirmed",
            "reminder",
            "test",
        }
        for delivery in deliveries:
            text = delivery.plaintext.decode()
            for secret in ("Alex", "Sam", "Rivera", world.partner_a.email, *titles):
                assert secret not in text
            message = json.loads(text)
            if delivery.endpoint == endpoints[world.partner_b.id]["endpoint"]:
                assert message["body"] == sender.NEUTRAL
            else:
                assert message["body"] != sender.NEUTRAL

    def test_the_test_button_goes_through_the_real_pipeline(self, app, engine, loopback, push):
        actor = register(app)
        subscription = push.new_subscription()
        answer = actor.post("/api/push/subscriptions", json=subscription)
        assert answer.status_code == 201, answer.text
        answer = actor.post("/api/push/test")
        assert answer.status_code == 202
        dispatch(Dispatcher(loopback, engine))
        [delivery] = push.wait_for(1, endpoint=subscription["endpoint"])
        assert json.loads(delivery.plaintext)["id"] == answer.json()["id"]
        assert delivery.urgency == "high"


class TestFailures:
    def test_gone_subscriptions_are_deleted(self, app, engine, loopback, push):
        world = make_world(app)
        gone = push.new_subscription()
        unknown = push.new_subscription(Behaviour(status=404))
        subscribe(engine, loopback, world.partner_b.id, gone)
        subscribe(engine, loopback, world.partner_b.id, unknown)
        push.expire(gone["endpoint"])
        notification_id = event_for(engine, world.partner_b.id)

        dispatch(Dispatcher(loopback, engine))

        assert row(engine, notification_id).state == "failed"
        with Session(engine) as session:
            assert session.exec(select(PushSubscription)).all() == []

    def test_429_waits_as_long_as_retry_after_says(self, app, engine, loopback, push):
        world = make_world(app)
        subscription = push.new_subscription(Behaviour(status=429, times=1, retry_after=120))
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        now = utcnow()

        dispatch(Dispatcher(loopback, engine), now=now)
        waiting = row(engine, notification_id)
        assert waiting.state == "pending"
        assert waiting.due_at == now + timedelta(seconds=120)
        assert dispatch(Dispatcher(loopback, engine), now=now + timedelta(seconds=60)) == 0
        dispatch(Dispatcher(loopback, engine), now=now + timedelta(seconds=121))

        assert row(engine, notification_id).state == "sent"
        assert len(push.deliveries(subscription["endpoint"])) == 1

    def test_server_errors_back_off_and_retry(self, app, engine, loopback, push):
        world = make_world(app)
        subscription = push.new_subscription(Behaviour(status=503, times=2))
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        now = utcnow()

        dispatch(Dispatcher(loopback, engine), now=now)
        first = row(engine, notification_id).due_at
        dispatch(Dispatcher(loopback, engine), now=first)
        second = row(engine, notification_id).due_at
        assert second - first > first - now  # the wait grows
        dispatch(Dispatcher(loopback, engine), now=second)
        assert row(engine, notification_id).state == "sent"
        assert row(engine, notification_id).attempts == 3

    def test_a_slow_endpoint_times_out_and_is_sent_again_under_the_same_topic(
        self, app, engine, loopback, push
    ):
        world = make_world(app)
        subscription = push.new_subscription(Behaviour(delay=1.5, times=1))
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        now = utcnow()

        dispatch(Dispatcher(loopback, engine, timeout=0.3), now=now)
        assert row(engine, notification_id).state == "pending"
        dispatch(Dispatcher(loopback, engine, timeout=5), now=now + timedelta(hours=2))

        assert row(engine, notification_id).state == "sent"
        deliveries = push.wait_for(2, endpoint=subscription["endpoint"])
        assert {d.topic for d in deliveries} == {sender.topic(notification_id)}

    def test_other_client_errors_fail_the_row_and_log_no_payload(
        self, app, engine, loopback, push, caplog
    ):
        world = make_world(app)
        subscription = push.new_subscription(Behaviour(status=400))
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)

        with caplog.at_level(logging.INFO):
            dispatch(Dispatcher(loopback, engine))

        stored = row(engine, notification_id)
        assert stored.state == "failed" and "400" in (stored.last_error or "")
        assert str(notification_id) in caplog.text
        assert sender.NEUTRAL not in caplog.text
        assert subscription["endpoint"].rsplit("/", 1)[1] not in caplog.text

    def test_a_device_that_keeps_failing_is_dropped(self, app, engine, loopback, push):
        world = make_world(app)
        subscription = push.new_subscription(Behaviour(status=500))
        subscribe(engine, loopback, world.partner_b.id, subscription)
        with write_session(engine) as session:
            session.execute(
                update(PushSubscription).values(failure_count=MAX_SUBSCRIPTION_FAILURES - 1)
            )
            session.commit()
        event_for(engine, world.partner_b.id)

        dispatch(Dispatcher(loopback, engine))

        with Session(engine) as session:
            assert session.exec(select(PushSubscription)).all() == []


class TestLeases:
    def test_a_worker_killed_after_the_push_was_accepted_sends_it_again_same_topic(
        self, app, engine, loopback, push
    ):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        now = utcnow()
        dead = Dispatcher(loopback, engine, lease_seconds=60)

        # The first worker claims and sends, then dies before it marks the row.
        token, rows = outbox.claim(engine, now=now, limit=10, lease_seconds=60)
        _, jobs = dead._prepare(rows, now)

        async def send_only() -> None:
            await dead.sender.send_many(jobs)
            await dead.sender.close()

        asyncio.run(send_only())
        push.wait_for(1, endpoint=subscription["endpoint"])
        assert row(engine, notification_id).state == "sending"
        assert dispatch(Dispatcher(loopback, engine), now=now + timedelta(seconds=30)) == 0

        later = now + timedelta(seconds=61)
        dispatch(Dispatcher(loopback, engine), now=later)

        deliveries = push.wait_for(2, endpoint=subscription["endpoint"])
        assert [d.topic for d in deliveries] == [sender.topic(notification_id)] * 2
        assert (
            json.loads(deliveries[0].plaintext)["id"] == json.loads(deliveries[1].plaintext)["id"]
        )
        # The dead worker's late mark changes nothing: it no longer holds the lease.
        outbox.finish(
            engine,
            token=token,
            now=later,
            outcomes=[
                outbox.Outcome(notification_id, outbox.NotificationState.failed, error="late")
            ],
        )
        assert row(engine, notification_id).state == "sent"

    def test_a_worker_killed_before_sending_leaves_it_for_another_once(
        self, app, engine, loopback, push
    ):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        now = utcnow()
        outbox.claim(engine, now=now, limit=10, lease_seconds=60)

        dispatch(Dispatcher(loopback, engine), now=now + timedelta(seconds=61))

        assert row(engine, notification_id).state == "sent"
        assert len(push.wait_for(1, endpoint=subscription["endpoint"])) == 1
        assert row(engine, notification_id).attempts == 2

    def test_released_leases_go_back_to_the_queue(self, app, engine, loopback, push):
        world = make_world(app)
        notification_id = event_for(engine, world.partner_b.id)
        token, _ = outbox.claim(engine, now=utcnow(), limit=10, lease_seconds=600)
        outbox.release(engine, token=token)
        stored = row(engine, notification_id)
        assert (stored.state, stored.attempts, stored.lease_token) == ("pending", 0, None)


class TestSendTimeChecks:
    def test_event_in_quiet_hours_waits_for_their_end(self, app, engine, loopback, push):
        world = make_world(app)
        subscribe(engine, loopback, world.partner_b.id, push.new_subscription())
        notification_id = event_for(engine, world.partner_b.id)
        # Quiet hours set after the row was written: the send-time check catches it.
        set_prefs(engine, world.partner_b.id, quiet_hours={"start": "00:00", "end": "23:59"})
        now = utcnow()
        dispatch(Dispatcher(loopback, engine), now=now)
        stored = row(engine, notification_id)
        assert stored.state == "pending" and stored.attempts == 0
        assert stored.due_at > now

    def test_reminders_go_only_while_there_is_work_left(
        self, app, engine, loopback, push, monkeypatch
    ):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        set_prefs(engine, world.partner_b.id, enabled=True, times=["12:00"])
        user_id = uuid.UUID(world.partner_b.id)
        now = utcnow()
        with write_session(engine) as session:
            session.execute(delete(Notification))
            for n, expires in enumerate((now + timedelta(hours=1), now, now + timedelta(hours=1))):
                outbox.insert_ignore(
                    session,
                    [
                        {
                            "user_id": user_id,
                            "kind": "reminder",
                            "payload": {},
                            "due_at": now,
                            "dedupe_key": f"r{n}:{user_id}",
                            "expires_at": expires,
                        }
                    ],
                )
            session.commit()
        monkeypatch.setattr(hooks, "has_unfinished_work", lambda *_a, **_k: False)
        dispatch(Dispatcher(loopback, engine), now=now)
        with Session(engine) as session:
            states = sorted((r.last_error, r.state) for r in session.exec(select(Notification)))
        assert states == [
            ("expired", "skipped"),
            ("nothing left to do", "skipped"),
            ("nothing left to do", "skipped"),
        ]
        assert push.deliveries(subscription["endpoint"]) == []

    def test_the_scheduler_in_a_worker_plans_and_the_dispatcher_sends(
        self, app, engine, loopback, push, work_left
    ):
        world = make_world(app, timezone="UTC")
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        set_prefs(engine, world.partner_b.id, enabled=True, times=["09:00"], timezone="UTC")
        with write_session(engine) as session:
            session.execute(update(ReminderPreference).values(scheduled_until=None))
            session.execute(delete(Notification))
            session.commit()
            scheduler.schedule(session, now=utcnow())
            session.commit()
        with Session(engine) as session:
            rows = session.exec(
                select(Notification).where(Notification.user_id == uuid.UUID(world.partner_b.id))
            ).all()
        assert rows
        first = min(r.due_at for r in rows)
        dispatch(Dispatcher(loopback, engine), now=first)
        push.wait_for(1, endpoint=subscription["endpoint"])


def test_serve_embeds_a_worker_that_delivers_and_stops_with_the_app(tmp_path, push):
    from fastapi.testclient import TestClient

    from tandem import migrations
    from tandem.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'embedded.db'}",
        push_allowed_hosts="127.0.0.1",
        push_allow_insecure=True,
    )
    app = create_app(settings, run_worker=True)
    migrations.upgrade(app.state.engine)
    with TestClient(app, base_url="https://testserver") as client:
        actor = register(app)
        subscription = push.new_subscription()
        assert actor.post("/api/push/subscriptions", json=subscription).status_code == 201
        assert actor.post("/api/push/test").status_code == 202
        push.wait_for(1, timeout=15, endpoint=subscription["endpoint"])
        assert client.get("/healthz").status_code == 200


class TestOutboundRules:
    def test_a_redirect_is_a_failed_delivery_never_followed(self, app, engine, loopback, push):
        world = make_world(app)
        # The push service tells the worker to post elsewhere (here: another endpoint on it).
        elsewhere = push.new_subscription()
        hostile = push.new_subscription(Behaviour(status=307, location=elsewhere["endpoint"]))
        subscribe(engine, loopback, world.partner_b.id, hostile)
        notification_id = event_for(engine, world.partner_b.id)

        dispatch(Dispatcher(loopback, engine))

        stored = row(engine, notification_id)
        assert stored.state == "failed" and "307" in (stored.last_error or "")
        assert [a.status for a in push.attempts(hostile["endpoint"])] == [307]
        assert push.attempts(elsewhere["endpoint"]) == []

    def test_an_endpoint_no_longer_allowed_is_not_sent_to(
        self, app, engine, loopback, push, monkeypatch
    ):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_b.id, subscription)
        notification_id = event_for(engine, world.partner_b.id)
        # The operator narrowed the allow-list after the device subscribed.
        monkeypatch.setattr(loopback, "push_allowed_hosts", "push.example.test")

        dispatch(Dispatcher(loopback, engine))

        assert row(engine, notification_id).state == "failed"
        assert push.attempts(subscription["endpoint"]) == []


class TestUnpreparableRows:
    def test_a_row_that_raises_is_retried_then_set_aside_without_holding_others(
        self, app, engine, loopback, push, monkeypatch, caplog
    ):
        world = make_world(app)
        subscription = push.new_subscription()
        subscribe(engine, loopback, world.partner_a.id, subscription)
        subscribe(engine, loopback, world.partner_b.id, push.new_subscription())
        bad = event_for(engine, world.partner_b.id)
        with write_session(engine) as session:
            notices.plan_published(
                session,
                couple_id=uuid.UUID(world.couple_id),
                plan_id=uuid.uuid4(),
                week_start=utcnow().date(),
                partner_ids=[uuid.UUID(world.partner_a.id)],
            )
            session.commit()
        real_build = sender.build_payload

        def build(*, notification_id, **kwargs):  # noqa: ANN003, ANN202
            if notification_id == bad:
                detail = "secret payload detail"  # as data would be: only in the message
                raise KeyError(detail)
            return real_build(notification_id=notification_id, **kwargs)

        monkeypatch.setattr(sender, "build_payload", build)
        now = utcnow()
        with caplog.at_level(logging.WARNING):
            dispatch(Dispatcher(loopback, engine), now=now)
        assert len(push.deliveries(subscription["endpoint"])) == 1  # the other row went out
        waiting = row(engine, bad)
        assert waiting.state == "pending" and waiting.due_at > now and waiting.attempts == 1
        assert "KeyError" in caplog.text and "build" in caplog.text  # type and frames
        assert "secret payload detail" not in caplog.text

        for _ in range(20):
            if row(engine, bad).state != "pending":
                break
            dispatch(Dispatcher(loopback, engine), now=row(engine, bad).due_at)
        stored = row(engine, bad)
        assert stored.state == "failed" and "could not be prepared" in stored.last_error
        assert stored.attempts == MAX_ATTEMPTS
        rendered = metrics.render(None)
        assert 'tandem_notifications_unpreparable_total{outcome="failed"}' in rendered
