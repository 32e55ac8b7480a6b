"""The day-before reminder of an appointment, through the reminders outbox."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.reminders import sender
from tandem.reminders.models import Notification
from tests.factories import World, create_couple, invite, register

QUIET = {
    "enabled": False,
    "times": [],
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "timezone": "Europe/Berlin",
    "discreet": True,
    "paused_until": None,
}


def world_in_two_zones(app: FastAPI) -> World:
    therapist = register(app, role="therapist")
    couple_id = create_couple(therapist)
    a = register(app, invitation_code=invite(therapist, couple_id), timezone="Europe/Berlin")
    b = register(app, invitation_code=invite(therapist, couple_id), timezone="America/New_York")
    return World(couple_id, therapist, a, b)


def rows_for(engine: Engine, user_id: str) -> list[Notification]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.user_id == uuid.UUID(user_id))
                .order_by(col(Notification.due_at))
            )
        )


def at(day: date, clock: time, zone: str) -> datetime:
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def book(w: World, starts: datetime, note: str = "") -> dict:
    answer = w.therapist.put(
        f"/api/couples/{w.couple_id}/next-appointment",
        json={"starts_at": starts.isoformat(), "note": note},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def zone_where_the_hour_is(low: int, high: int) -> str:
    """A fixed-offset zone whose local hour is now within [low, high]."""
    now = datetime.now(UTC)
    for hours in range(-12, 15):
        zone = f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}" if hours else "Etc/GMT"
        if low <= now.astimezone(ZoneInfo(zone)).hour <= high:
            return zone
    raise AssertionError("no zone fits")


class TestDayBeforeReminder:
    def test_each_partner_is_reminded_at_six_the_evening_before_in_their_zone(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = world_in_two_zones(app)
        day = (datetime.now(UTC) + timedelta(days=5)).date()
        starts = at(day, time(10, 0), "Europe/Berlin")
        appointment = book(w, starts, note="Bring the medication list")
        (a,) = rows_for(engine, w.partner_a.id)
        (b,) = rows_for(engine, w.partner_b.id)
        assert a.due_at == at(day - timedelta(days=1), time(18, 0), "Europe/Berlin")
        ny_day = starts.astimezone(ZoneInfo("America/New_York")).date()
        assert b.due_at == at(ny_day - timedelta(days=1), time(18, 0), "America/New_York")
        for row in (a, b):
            assert row.kind == "appointment" and row.state == "pending"
            assert row.expires_at == starts
            assert row.payload == {"appointment_id": appointment["id"], "url": "/#/prep"}
        assert rows_for(engine, w.therapist.id) == []

    def test_quiet_hours_move_it_to_their_end(self, app: FastAPI, engine: Engine) -> None:
        w = world_in_two_zones(app)
        prefs = {**QUIET, "quiet_hours": {"start": "17:00", "end": "19:30"}}
        assert w.partner_a.put("/api/me/reminders", json=prefs).status_code == 200
        day = (datetime.now(UTC) + timedelta(days=4)).date()
        book(w, at(day, time(11, 0), "Europe/Berlin"))
        (a,) = rows_for(engine, w.partner_a.id)
        assert a.due_at == at(day - timedelta(days=1), time(19, 30), "Europe/Berlin")

    def test_moving_the_appointment_replaces_the_pending_reminder(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w = world_in_two_zones(app)
        day = (datetime.now(UTC) + timedelta(days=4)).date()
        book(w, at(day, time(10, 0), "Europe/Berlin"))
        book(w, at(day + timedelta(days=3), time(10, 0), "Europe/Berlin"))
        (a,) = rows_for(engine, w.partner_a.id)
        assert a.due_at == at(day + timedelta(days=2), time(18, 0), "Europe/Berlin")
        # One already sent stays sent, and the moved appointment still gets its own.
        with Session(engine) as session:
            session.execute(
                update(Notification).where(col(Notification.id) == a.id).values(state="sent")
            )
            session.commit()
        book(w, at(day + timedelta(days=5), time(10, 0), "Europe/Berlin"))
        rows = rows_for(engine, w.partner_a.id)
        assert [r.state for r in rows] == ["sent", "pending"]
        assert rows[1].due_at == at(day + timedelta(days=4), time(18, 0), "Europe/Berlin")

    def test_when_the_evening_before_has_passed_it_goes_out_now(
        self, app: FastAPI, engine: Engine
    ) -> None:
        zone = zone_where_the_hour_is(19, 22)
        w = world_in_two_zones(app)
        prefs = {**QUIET, "timezone": zone, "quiet_hours": None}
        assert w.partner_a.put("/api/me/reminders", json=prefs).status_code == 200
        before = datetime.now(UTC)
        tomorrow = before.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        book(w, at(tomorrow, time(12, 0), zone))
        (a,) = rows_for(engine, w.partner_a.id)
        assert before <= a.due_at <= datetime.now(UTC)

    def test_an_appointment_later_today_sends_no_reminder(
        self, app: FastAPI, engine: Engine
    ) -> None:
        zone = zone_where_the_hour_is(1, 20)
        w = world_in_two_zones(app)
        prefs = {**QUIET, "timezone": zone, "quiet_hours": None}
        assert w.partner_a.put("/api/me/reminders", json=prefs).status_code == 200
        book(w, datetime.now(UTC) + timedelta(hours=2))
        assert rows_for(engine, w.partner_a.id) == []

    def test_the_push_text_is_discreet_and_names_nothing(self) -> None:
        for discreet in (True, False):
            payload = sender.build_payload(
                notification_id=uuid.uuid4(),
                kind="appointment",
                data={"appointment_id": str(uuid.uuid4()), "url": "/#/prep"},
                discreet=discreet,
            )
            message = json.loads(payload)
            assert message["title"] == "Tandem"
            assert message["body"].startswith("Something to prepare for tomorrow")
        discreet = json.loads(
            sender.build_payload(
                notification_id=uuid.uuid4(), kind="appointment", data={}, discreet=True
            )
        )
        assert discreet["body"] == "Something to prepare for tomorrow"
