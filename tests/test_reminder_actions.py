"""Reminders before agreed times through the real push pipeline, and "Done" / "In 1 hour" /
"Tonight" answered from the notification with its single-use token (issue #17)."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.core.config import Settings
from tandem.core.db import utcnow, write_session
from tandem.plans.models import PracticeLog
from tandem.practice_times.actions import snooze_until
from tandem.practice_times.models import ReminderAction
from tandem.reminders import actions, outbox, sender
from tandem.reminders.models import Notification, PushSubscription, ReminderPreference
from tandem.reminders.worker import Dispatcher
from tests.factories import World, make_world, new_client
from tests.plans_support import INDIVIDUAL, JOINT, item, publish, put_plan, this_monday
from tests.practice_support import agreed, rows
from tests.push_service import PushService
from tests.test_appointment_reminders import zone_where_the_hour_is
from tests.test_push_delivery import dispatch, subscribe


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushService]:
    with PushService() as service:
        yield service


@pytest.fixture
def push(receiver: PushService) -> PushService:
    receiver.clear()
    return receiver


@pytest.fixture
def loopback(settings: Settings, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Settings:
    """Settings that accept the loopback push service, and an outbox and device list with only
    this test's rows (other tests' devices may name real push services)."""
    monkeypatch.setattr(settings, "push_allowed_hosts", "127.0.0.1")
    monkeypatch.setattr(settings, "push_allow_insecure", True)
    with write_session(engine) as session:
        session.execute(delete(Notification))
        session.execute(delete(PushSubscription))
        session.commit()
    return settings


def act(app: FastAPI, token: str, action: str) -> int:
    # The service worker: no access token, no cookie.
    return (
        new_client(app)
        .post("/api/reminder-actions", json={"token": token, "action": action})
        .status_code
    )


def daytime_world(app: FastAPI) -> tuple[World, str, dict]:
    """A couple living where it is daytime now, with this week's plan published: a time two
    hours from now is still today there."""
    zone = zone_where_the_hour_is(8, 19)
    w = make_world(app, timezone=zone)
    week = this_monday(zone)
    put_plan(w, week, [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    return w, zone, publish(w, week)


def logs_of(engine: Engine, item_id: str) -> list[PracticeLog]:
    with Session(engine) as session:
        return list(
            session.exec(select(PracticeLog).where(PracticeLog.plan_item_id == uuid.UUID(item_id)))
        )


def delivered_slot_reminder(
    app: FastAPI,
    engine: Engine,
    loopback: Settings,
    push: PushService,
) -> tuple[World, dict, dict, datetime]:
    """A joint time in two hours, agreed; partner A's reminder goes out through the push
    service at its due time. Returns the world, the plan, the decrypted message, the time."""
    w, _zone, plan = daytime_world(app)
    starts = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    agreed(w.partner_a, w.partner_b, plan["items"][0]["id"], starts)
    dispatch(Dispatcher(loopback, engine))  # what is due now (the plan published) goes first
    device = push.new_subscription()
    subscribe(engine, loopback, w.partner_a.id, device)
    [row] = rows(engine, w.partner_a.id)
    assert row.due_at == starts - timedelta(minutes=30)
    assert dispatch(Dispatcher(loopback, engine), now=row.due_at) >= 1
    [delivery] = push.wait_for(1, endpoint=device["endpoint"])
    assert len(delivery.plaintext) == sender.PAYLOAD_SIZE
    return w, plan, json.loads(delivery.plaintext), starts


class TestTheNotification:
    def test_a_slot_reminder_arrives_padded_discreet_and_with_its_actions(
        self,
        app,
        engine,
        loopback,
        push,
    ) -> None:
        w, plan, message, _ = delivered_slot_reminder(app, engine, loopback, push)
        assert message["kind"] == "slot"
        assert message["title"] == "Tandem" and message["body"] == sender.NEUTRAL
        assert [a["action"] for a in message["actions"]] == ["done", "snooze_1h", "snooze_evening"]
        assert [a["title"] for a in message["actions"]] == ["Done", "In 1 hour", "Tonight"]
        assert message["url"] == "/#/week"
        token = actions.read(loopback, message["action_token"])
        assert token is not None
        assert str(token.notification_id) == message["id"]
        assert str(token.user_id) == w.partner_a.id
        assert timedelta(hours=23) < token.expires_at - utcnow() <= timedelta(hours=26)
        text = json.dumps(message)
        for secret in ("Alex", "Sam", *(i["title"] for i in plan["items"])):
            assert secret not in text

    def test_no_reminder_when_the_session_was_already_logged_for_that_time(
        self,
        app,
        engine,
        loopback,
        push,
    ) -> None:
        w, _zone, plan = daytime_world(app)
        joint = plan["items"][0]["id"]
        starts = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
        agreed(w.partner_a, w.partner_b, joint, starts)
        device = push.new_subscription()
        subscribe(engine, loopback, w.partner_b.id, device)
        logged = w.partner_a.post(
            f"/api/plan-items/{joint}/sessions", json={"client_id": str(uuid.uuid4())}
        )
        assert logged.status_code == 201
        [row] = rows(engine, w.partner_b.id)
        dispatch(Dispatcher(loopback, engine), now=row.due_at)
        [after] = rows(engine, w.partner_b.id)
        assert (after.state, after.last_error) == ("skipped", "already logged")
        kinds = [json.loads(d.plaintext)["kind"] for d in push.deliveries(device["endpoint"])]
        assert "slot" not in kinds


class TestDone:
    def test_done_logs_the_joint_item_waiting_for_the_partner_once(
        self,
        app,
        engine,
        loopback,
        push,
    ) -> None:
        w, plan, message, _ = delivered_slot_reminder(app, engine, loopback, push)
        joint = plan["items"][0]["id"]
        token = message["action_token"]
        assert act(app, token, "done") == 204
        [log] = logs_of(engine, joint)
        assert str(log.logged_by) == w.partner_a.id and log.status == "awaiting_partner"
        # Spent: the same token again, for any action, is gone; nothing more is logged.
        assert act(app, token, "done") == 410
        assert act(app, token, "snooze_1h") == 410
        assert len(logs_of(engine, joint)) == 1
        with Session(engine) as session:
            spent = session.exec(select(ReminderAction)).all()
            assert token not in {s.token_hash for s in spent}
        # The partner's own reminder: "Done" there confirms the log waiting for them.
        [b_row] = rows(engine, w.partner_b.id)
        b_token = actions.mint(
            loopback, notification_id=b_row.id, user_id=b_row.user_id, now=utcnow()
        )
        assert act(app, b_token, "done") == 204
        [log] = logs_of(engine, joint)
        assert log.status == "done" and str(log.confirmed_by) == w.partner_b.id

    def test_done_on_a_daily_reminder_logs_the_one_exercise_left_or_asks(
        self,
        app,
        engine,
        loopback,
    ) -> None:
        w, _zone, plan = daytime_world(app)
        joint, individual = (i["id"] for i in plan["items"])
        daily = reminder_row(engine, w.partner_a.id)
        token = actions.mint(
            loopback, notification_id=daily, user_id=uuid.UUID(w.partner_a.id), now=utcnow()
        )
        # Two exercises still open: guessing could record the wrong one; nothing is spent.
        assert act(app, token, "done") == 409
        for _ in range(2):
            assert w.partner_a.post(
                f"/api/plan-items/{individual}/sessions", json={"client_id": str(uuid.uuid4())}
            ).status_code in (200, 201)
        assert act(app, token, "done") == 204
        [log] = logs_of(engine, joint)
        assert str(log.logged_by) == w.partner_a.id

    def test_two_taps_at_once_act_once(self, app, engine, loopback) -> None:
        w, _zone, _plan = daytime_world(app)
        daily = reminder_row(engine, w.partner_b.id)
        token = actions.mint(
            loopback, notification_id=daily, user_id=uuid.UUID(w.partner_b.id), now=utcnow()
        )
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def tap() -> None:
            barrier.wait()
            codes.append(act(app, token, "snooze_1h"))

        threads = [threading.Thread(target=tap) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [204, 410, 410, 410]
        assert len(snoozed(engine, daily)) == 1


def reminder_row(engine: Engine, user_id: str) -> uuid.UUID:
    """A daily reminder the worker has sent to this person."""
    notification_id = uuid.uuid4()
    now = utcnow()
    with write_session(engine) as session:
        outbox.insert_ignore(
            session,
            [
                {
                    "id": notification_id,
                    "user_id": uuid.UUID(user_id),
                    "kind": "reminder",
                    "payload": {"url": "/"},
                    "due_at": now,
                    "dedupe_key": f"reminder:test:{notification_id}",
                    "state": "sent",
                    "expires_at": now + timedelta(hours=3),
                }
            ],
        )
        session.commit()
    return notification_id


def snoozed(engine: Engine, notification_id: uuid.UUID) -> list[Notification]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Notification).where(Notification.dedupe_key == f"snooze:{notification_id}")
            )
        )


class TestSnooze:
    def test_in_an_hour_makes_exactly_one_new_reminder_that_offers_the_same(
        self,
        app,
        engine,
        loopback,
        push,
    ) -> None:
        w, _plan, message, _starts = delivered_slot_reminder(app, engine, loopback, push)
        before = utcnow()
        assert act(app, message["action_token"], "snooze_1h") == 204
        [again] = snoozed(engine, uuid.UUID(message["id"]))
        assert again.kind == "slot" and again.state == "pending"
        assert before + timedelta(hours=1) <= again.due_at <= utcnow() + timedelta(hours=1)
        assert again.payload["slot_id"] == message_slot(engine, message)
        assert act(app, message["action_token"], "snooze_evening") == 410
        assert len(snoozed(engine, uuid.UUID(message["id"]))) == 1
        # It goes out as a reminder of its own, with a token of its own.
        device = push.new_subscription()
        subscribe(engine, loopback, w.partner_a.id, device)
        dispatch(Dispatcher(loopback, engine), now=again.due_at)
        [delivery] = push.wait_for(1, endpoint=device["endpoint"])
        second = json.loads(delivery.plaintext)
        assert second["id"] == str(again.id) and second["action_token"] != message["action_token"]

    def test_tokens_that_expired_were_forged_or_name_another_kind_are_gone(
        self,
        app,
        engine,
        loopback,
    ) -> None:
        w, _zone, _plan = daytime_world(app)
        daily = reminder_row(engine, w.partner_a.id)
        me = uuid.UUID(w.partner_a.id)
        old = actions.mint(
            loopback, notification_id=daily, user_id=me, now=utcnow() - timedelta(hours=25)
        )
        assert act(app, old, "snooze_1h") == 410
        good = actions.mint(loopback, notification_id=daily, user_id=me, now=utcnow())
        forged = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
        assert act(app, forged, "snooze_1h") == 410
        someone_else = actions.mint(
            loopback, notification_id=daily, user_id=uuid.UUID(w.partner_b.id), now=utcnow()
        )
        assert act(app, someone_else, "snooze_1h") == 410
        assert act(app, "not-a-token", "snooze_1h") == 410
        bad = new_client(app).post("/api/reminder-actions", json={"token": good, "action": "later"})
        assert bad.status_code == 422
        assert snoozed(engine, daily) == []
        assert act(app, good, "snooze_1h") == 204


def message_slot(engine: Engine, message: dict) -> str:
    with Session(engine) as session:
        row = session.get(Notification, uuid.UUID(message["id"]))
        assert row is not None
        return row.payload["slot_id"]


class TestTonight:
    def test_tonight_is_eight_unless_that_is_too_close_and_never_in_quiet_hours(self) -> None:
        zone = ZoneInfo("Europe/Berlin")

        def local(hour: int, minute: int = 0, day: int = 2) -> datetime:
            return datetime(2026, 12, day, hour, minute, tzinfo=zone).astimezone(UTC)

        assert snooze_until(None, zone=zone, action="snooze_evening", now=local(14)) == local(20)
        assert snooze_until(None, zone=zone, action="snooze_evening", now=local(19, 45)) == local(
            20, 45
        )
        assert snooze_until(None, zone=zone, action="snooze_1h", now=local(9)) == local(10)
        quiet = ReminderPreference(
            user_id=uuid.uuid4(), timezone="Europe/Berlin", quiet_start="19:30", quiet_end="07:00"
        )
        assert snooze_until(quiet, zone=zone, action="snooze_evening", now=local(14)) == local(
            7, day=3
        )
