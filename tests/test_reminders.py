"""Reminder preferences, subscriptions, events and the scheduler's wall-clock arithmetic."""

import base64
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.core.config import Settings
from tandem.core.db import write_session
from tandem.reminders import clock, notices, scheduler, sender
from tandem.reminders.models import Notification, PushSubscription, ReminderPreference
from tests.factories import make_world, register


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def keys() -> dict[str, str]:
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"p256dh": b64(raw), "auth": b64(secrets.token_bytes(16))}


def subscription(endpoint: str | None = None, **key_overrides: str) -> dict:
    endpoint = endpoint or f"https://fcm.googleapis.com/fcm/send/{secrets.token_hex(8)}"
    return {"endpoint": endpoint, "expirationTime": None, "keys": {**keys(), **key_overrides}}


def rows_for(engine: Engine, user_id: str) -> list[Notification]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.user_id == uuid.UUID(user_id))
                .order_by(Notification.due_at)
            )
        )


def subscriptions_of(engine: Engine, user_id: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(PushSubscription.endpoint).where(
                    PushSubscription.user_id == uuid.UUID(user_id)
                )
            )
        )


GOOD = {
    "enabled": True,
    "times": ["08:00", "20:30"],
    "weekdays": [0, 1, 2, 3, 4],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "timezone": "Europe/Berlin",
    "discreet": False,
    "paused_until": None,
    "slot_lead_minutes": 45,
    "nudges": False,
}


class TestPreferences:
    def test_reminders_are_off_until_turned_on(self, app):
        actor = register(app, timezone="America/New_York")
        answer = actor.get("/api/me/reminders")
        assert answer.status_code == 200
        assert answer.json() == {
            "enabled": False,
            "times": [],
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "quiet_hours": None,
            "timezone": "America/New_York",
            "discreet": True,
            "paused_until": None,
            "slot_lead_minutes": 30,
            "nudges": True,
        }

    def test_saved_preferences_come_back_and_plan_reminders(self, app, engine):
        actor = register(app)
        answer = actor.put("/api/me/reminders", json=GOOD)
        assert answer.status_code == 200, answer.text
        assert actor.get("/api/me/reminders").json() == GOOD
        assert {r.kind for r in rows_for(engine, actor.id)} == {"reminder"}
        off = actor.put("/api/me/reminders", json={**GOOD, "enabled": False})
        assert off.status_code == 200
        assert rows_for(engine, actor.id) == []

    @pytest.mark.parametrize(
        "change",
        [
            {"times": ["08:00", "09:00", "10:00", "11:00"]},
            {"times": ["24:00"]},
            {"times": ["8:00"]},
            {"times": ["08:00", "08:00"]},
            {"times": []},
            {"weekdays": [7]},
            {"weekdays": [1, 1]},
            {"timezone": "Mars/Olympus"},
            {"quiet_hours": {"start": "22:00", "end": "22:00"}},
            {"paused_until": "soon"},
            {"slot_lead_minutes": 0},
            {"slot_lead_minutes": 24 * 60 + 1},
            {"nudges": "sometimes"},
            {"colour": "red"},
        ],
    )
    def test_bad_preferences_are_refused(self, app, change):
        actor = register(app)
        answer = actor.put("/api/me/reminders", json={**GOOD, **change})
        assert answer.status_code == 422
        assert actor.get("/api/me/reminders").json()["enabled"] is False


class TestSubscriptions:
    def test_the_vapid_key_is_an_uncompressed_p256_point(self, app):
        answer = register(app).client.get("/api/push/vapid-public-key")
        raw = base64.urlsafe_b64decode(answer.json()["public_key"] + "==")
        assert len(raw) == 65 and raw[0] == 4
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)

    def test_a_browser_subscription_is_stored_and_deleted_by_endpoint(self, app, engine):
        actor = register(app)
        body = subscription()
        assert actor.post("/api/push/subscriptions", json=body).status_code == 201
        assert actor.post("/api/push/subscriptions", json=body).status_code == 201
        assert subscriptions_of(engine, actor.id) == [body["endpoint"]]
        gone = actor.delete("/api/push/subscriptions", json={"endpoint": body["endpoint"]})
        assert gone.status_code == 204
        assert subscriptions_of(engine, actor.id) == []

    def test_an_endpoint_registered_by_another_user_moves_to_them(self, app, engine):
        first, second = register(app), register(app)
        body = subscription()
        first.post("/api/push/subscriptions", json=body)
        second.post("/api/push/subscriptions", json={**body, "keys": keys()})
        assert subscriptions_of(engine, first.id) == []
        assert subscriptions_of(engine, second.id) == [body["endpoint"]]
        # The first user cannot delete what is now the second user's device.
        first.delete("/api/push/subscriptions", json={"endpoint": body["endpoint"]})
        assert subscriptions_of(engine, second.id) == [body["endpoint"]]

    @pytest.mark.parametrize(
        "endpoint",
        [
            "http://fcm.googleapis.com/fcm/send/x",
            "https://evil.example.com/push/x",
            "https://fcm.googleapis.com.evil.example/x",
            "https://push.services.mozilla.com.evil.example/x",
            "https://127.0.0.1/push/x",
            "https://10.0.0.8/push/x",
            "https://192.168.1.1/push/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/push/x",
            "https://[fe80::1]/push/x",
            "https://localhost/push/x",
            "https://user:pw@fcm.googleapis.com/fcm/send/x",
            "ftp://fcm.googleapis.com/x",
            "not a url",
            "https://fcm.googleapis.com/" + "x" * 2048,
        ],
    )
    def test_endpoints_off_the_push_services_are_refused(self, app, engine, endpoint):
        actor = register(app)
        answer = actor.post("/api/push/subscriptions", json=subscription(endpoint))
        assert answer.status_code == 422
        assert subscriptions_of(engine, actor.id) == []

    def test_subdomains_of_a_dotted_entry_and_any_port_are_accepted(self, app):
        actor = register(app)
        for endpoint in (
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            "https://eu.push.services.mozilla.com/wpush/v2/y",
            "https://fcm.googleapis.com:443/fcm/send/z",
        ):
            assert (
                actor.post("/api/push/subscriptions", json=subscription(endpoint)).status_code
                == 201
            )

    def test_a_listed_loopback_host_is_accepted_only_when_named(
        self, app, settings: Settings, monkeypatch
    ):
        actor = register(app)
        monkeypatch.setattr(settings, "push_allowed_hosts", "127.0.0.1,.example.org")
        monkeypatch.setattr(settings, "push_allow_insecure", True)
        ok = actor.post("/api/push/subscriptions", json=subscription("http://127.0.0.1:9/push/a"))
        assert ok.status_code == 201
        refused = actor.post(
            "/api/push/subscriptions", json=subscription("http://127.0.0.2/push/a")
        )
        assert refused.status_code == 422

    @pytest.mark.parametrize(
        "bad",
        [
            {"p256dh": b64(b"\x04" + bytes(64))},  # not on the curve
            {"p256dh": b64(b"\x04" + secrets.token_bytes(10))},
            {"p256dh": "***"},
            {"auth": b64(secrets.token_bytes(15))},
            {"auth": b64(secrets.token_bytes(32))},
        ],
    )
    def test_bad_key_material_is_refused(self, app, bad):
        actor = register(app)
        answer = actor.post("/api/push/subscriptions", json=subscription(**bad))
        assert answer.status_code == 422

    def test_a_compressed_point_is_refused(self, app):
        point = ec.generate_private_key(ec.SECP256R1()).public_key()
        compressed = point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        actor = register(app)
        answer = actor.post("/api/push/subscriptions", json=subscription(p256dh=b64(compressed)))
        assert answer.status_code == 422

    def test_logout_drops_this_device(self, app, engine):
        actor = register(app)
        body = subscription()
        actor.post("/api/push/subscriptions", json=body)
        answer = actor.post("/api/auth/logout", json={"endpoint": body["endpoint"]})
        assert answer.status_code == 204
        assert subscriptions_of(engine, actor.id) == []

    def test_account_deletion_removes_devices_preferences_and_pending_notifications(
        self, app, engine
    ):
        actor = register(app)
        actor.post("/api/push/subscriptions", json=subscription())
        actor.put("/api/me/reminders", json=GOOD)
        actor.post("/api/push/test")
        assert rows_for(engine, actor.id)
        assert actor.delete_account().status_code == 204
        assert subscriptions_of(engine, actor.id) == []
        assert rows_for(engine, actor.id) == []
        with Session(engine) as session:
            assert session.get(ReminderPreference, uuid.UUID(actor.id)) is None


class TestEvents:
    def test_a_published_plan_notifies_both_partners_once(self, app, engine):
        world = make_world(app)
        partners = [uuid.UUID(world.partner_a.id), uuid.UUID(world.partner_b.id)]
        plan_id = uuid.uuid4()
        for _ in range(2):
            with write_session(engine) as session:
                notices.plan_published(
                    session,
                    couple_id=uuid.UUID(world.couple_id),
                    plan_id=plan_id,
                    week_start=date(2026, 11, 23),
                    partner_ids=partners,
                )
                session.commit()
        for partner in (world.partner_a, world.partner_b):
            [row] = rows_for(engine, partner.id)
            assert row.kind == "plan_published"
            assert row.payload["plan_id"] == str(plan_id)

    def test_a_joint_session_asks_the_other_partner_and_a_confirmation_tells_the_author(
        self, app, engine
    ):
        world = make_world(app)
        log_id = uuid.uuid4()
        a, b = uuid.UUID(world.partner_a.id), uuid.UUID(world.partner_b.id)
        with write_session(engine) as session:
            notices.enqueue(
                session, notices.joint_practice_logged(practice_log_id=log_id, notify_user_id=b)
            )
            notices.enqueue(
                session, notices.practice_confirmed(practice_log_id=log_id, notify_user_id=a)
            )
            session.commit()
        [asked] = rows_for(engine, world.partner_b.id)
        [told] = rows_for(engine, world.partner_a.id)
        assert (asked.kind, asked.payload["session_id"]) == ("joint_session_logged", str(log_id))
        assert told.kind == "session_confirmed"
        assert asked.expires_at is None  # events are never dropped

    def test_a_rolled_back_cause_leaves_no_notification(self, app, engine):
        world = make_world(app)
        with write_session(engine) as session:
            notices.enqueue(
                session,
                notices.practice_confirmed(
                    practice_log_id=uuid.uuid4(), notify_user_id=uuid.UUID(world.partner_a.id)
                ),
            )
            session.rollback()
        assert rows_for(engine, world.partner_a.id) == []

    def test_an_event_in_quiet_hours_is_due_when_they_end(self, app, engine):
        actor = register(app)
        actor.put(
            "/api/me/reminders",
            json={**GOOD, "enabled": False, "quiet_hours": {"start": "00:00", "end": "23:59"}},
        )
        with write_session(engine) as session:
            notices.enqueue(
                session,
                notices.practice_confirmed(
                    practice_log_id=uuid.uuid4(), notify_user_id=uuid.UUID(actor.id)
                ),
            )
            session.commit()
        [row] = rows_for(engine, actor.id)
        local = row.due_at.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute) == (23, 59)


def pref(zone: str, times: list[str], **values: object) -> ReminderPreference:
    return ReminderPreference(
        user_id=uuid.uuid4(), enabled=True, times=times, timezone=zone, **values
    )


class TestQuietHours:
    def test_quiet_hours_may_wrap_midnight(self):
        night = pref("Europe/Berlin", [], quiet_start="22:00", quiet_end="07:00")
        assert clock.clock_in_quiet_hours(night, time(23, 0))
        assert clock.clock_in_quiet_hours(night, time(22, 0))
        assert clock.clock_in_quiet_hours(night, time(6, 59))
        assert not clock.clock_in_quiet_hours(night, time(7, 0))
        assert not clock.clock_in_quiet_hours(night, time(21, 59))
        afternoon = pref("Europe/Berlin", [], quiet_start="13:00", quiet_end="15:00")
        assert clock.clock_in_quiet_hours(afternoon, time(14, 0))
        assert not clock.clock_in_quiet_hours(afternoon, time(23, 0))

    def test_events_wait_for_the_end_of_quiet_hours_across_midnight(self):
        night = pref("Europe/Berlin", [], quiet_start="22:00", quiet_end="07:00")
        zone = ZoneInfo("Europe/Berlin")
        late = datetime(2026, 6, 1, 23, 30, tzinfo=zone).astimezone(UTC)
        early = datetime(2026, 6, 2, 1, 0, tzinfo=zone).astimezone(UTC)
        for now in (late, early):
            end = clock.quiet_hours_end(night, now).astimezone(zone)
            assert (end.date(), end.hour, end.minute) == (date(2026, 6, 2), 7, 0)

    def test_a_reminder_time_inside_quiet_hours_is_not_planned(self):
        night = pref("Europe/Berlin", ["06:30", "07:30"], quiet_start="22:00", quiet_end="07:00")
        now = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
        rows, _ = scheduler.occurrences(night, now=now)
        assert {r["dedupe_key"].rsplit(":", 2)[1:] == ["07", "30"] for r in rows} == {True}


# The walks: every local day gets exactly one reminder per time, at the right wall-clock time.
DST_DAYS = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
]


def walk(p: ReminderPreference, start: date, days: int) -> list[dict]:
    zone = ZoneInfo(p.timezone)
    now = datetime.combine(start, time(0, 0), tzinfo=zone).astimezone(UTC)
    end = now + timedelta(days=days)
    seen: dict[str, dict] = {}
    while now < end:
        rows, last = scheduler.occurrences(p, now=now)
        for row in rows:
            seen.setdefault(row["dedupe_key"], row)  # the unique key: a repeat is ignored
        p.scheduled_until = last
        now += timedelta(minutes=37)
    return sorted(seen.values(), key=lambda r: r["due_at"])


class TestDaylightSaving:
    @pytest.mark.parametrize(("zone", "day"), DST_DAYS)
    def test_every_local_day_gets_each_time_once_at_its_wall_clock(self, zone, day):
        times = ["00:30", "01:30", "02:30", "08:00", "23:59"]
        p = pref(zone, times, weekdays=[0, 1, 2, 3, 4, 5, 6])
        rows = walk(p, day - timedelta(days=2), 5)
        tz = ZoneInfo(zone)
        by_day: dict[date, list[str]] = {}
        for row in rows:
            local = row["due_at"].astimezone(tz)
            key_day = date.fromisoformat(row["dedupe_key"].split(":")[2])
            key_time = ":".join(row["dedupe_key"].split(":")[3:])
            by_day.setdefault(key_day, []).append(key_time)
            wanted = time.fromisoformat(key_time)
            if local.time().replace(second=0) != wanted:
                # Only a time in the spring-forward gap moves, forward by the gap (an hour).
                assert key_day == day
                moved = datetime.combine(key_day, wanted) + timedelta(hours=1)
                assert local.replace(tzinfo=None) == moved
            expires = row["expires_at"].astimezone(tz)
            assert (expires.date(), expires.time()) == (key_day + timedelta(days=1), time(0, 0))
        for covered in [day - timedelta(days=1), day, day + timedelta(days=1)]:
            assert sorted(by_day[covered]) == times, covered
        due = [r["due_at"] for r in rows]
        assert len(due) == len(set(due)), "two reminders at one instant"

    def test_the_ambiguous_hour_fires_once_at_its_first_occurrence(self):
        p = pref("Europe/Berlin", ["02:30"])
        rows = walk(p, date(2026, 10, 24), 2)
        [row] = [r for r in rows if "2026-10-25" in r["dedupe_key"]]
        assert row["due_at"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST

    def test_weekdays_and_a_pause_are_respected(self):
        p = pref("Europe/Berlin", ["09:00"], weekdays=[0, 2], paused_until=date(2026, 6, 3))
        rows = walk(p, date(2026, 6, 1), 14)  # Monday 1 June
        days = [date.fromisoformat(r["dedupe_key"].split(":")[2]) for r in rows]
        assert days[:3] == [date(2026, 6, 8), date(2026, 6, 10), date(2026, 6, 15)]

    def test_scheduling_twice_in_the_database_makes_one_row_per_occurrence(self, app, engine):
        actor = register(app)
        actor.put("/api/me/reminders", json={**GOOD, "weekdays": [0, 1, 2, 3, 4, 5, 6]})
        before = len(rows_for(engine, actor.id))
        with write_session(engine) as session:
            session.execute(delete(Notification).where(Notification.kind == "test"))
            stored = session.get(ReminderPreference, uuid.UUID(actor.id))
            assert stored is not None
            stored.scheduled_until = None
            session.add(stored)
            session.commit()
            scheduler.schedule(session, now=datetime.now(UTC))
            scheduler.schedule(session, now=datetime.now(UTC))
            session.commit()
        assert len(rows_for(engine, actor.id)) == before


def test_topics_are_32_base64url_characters_and_stable():
    notification_id = uuid.uuid4()
    assert sender.topic(notification_id) == sender.topic(notification_id)
    assert len(sender.topic(notification_id)) == 32
    assert sender.topic(notification_id) != sender.topic(uuid.uuid4())


def test_the_export_carries_reminder_settings_and_devices_without_keys(app):
    actor = register(app)
    body = subscription()
    actor.post("/api/push/subscriptions", json=body)
    actor.put("/api/me/reminders", json=GOOD)
    exported = actor.get("/api/me/export").json()
    assert exported["reminders"] == GOOD
    [device] = exported["push_devices"]
    assert device["endpoint_origin"] == "https://fcm.googleapis.com"
    assert body["keys"]["auth"] not in str(exported)
