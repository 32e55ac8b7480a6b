"""The private calendar feed and the appointment's one-off file: valid iCalendar, discreet,
revocable, rate-limited, and never in a log (issue #17)."""

import logging
import uuid
from datetime import datetime, time, timedelta

from fastapi import FastAPI
from icalendar import Calendar
from sqlmodel import Session, select

from tandem.core.security import digest
from tandem.practice_times.models import CalendarFeed
from tests.factories import World, make_world, new_client
from tests.plans_support import INDIVIDUAL, JOINT, item, publish, put_plan, this_monday
from tests.practice_support import agreed, at, propose, settings_for

TITLES = ("Speaker", "Body scan", "speaker-listener")
SECRET_NOTE = "Room 2, bring the list NOTE-77"


def feed_on(actor, **body: object) -> str:  # noqa: ANN001
    answer = actor.post("/api/me/calendar-feed", json=body or None)
    assert answer.status_code == 201, answer.text
    return answer.json()["url"]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def fetch(url: str, app: FastAPI):  # noqa: ANN201
    # A calendar app: no sign-in, its own address.
    return new_client(app).get(path_of(url))


def parsed(answer) -> Calendar:  # noqa: ANN001
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(answer.content)


def summaries(calendar: Calendar) -> list[str]:
    return sorted(str(e["summary"]) for e in calendar.walk("VEVENT"))


def couple_with_times(app: FastAPI) -> tuple[World, dict, datetime]:
    """Next week: a joint time both agreed, each partner's own time, a joint proposal still
    open, an appointment with a note, and a check-in."""
    w = make_world(app)
    week = this_monday() + timedelta(weeks=1)
    put_plan(
        w,
        week,
        [
            item(JOINT, "joint", 2),
            item(INDIVIDUAL, "individual", 2, assignee_ids=[w.partner_a.id, w.partner_b.id]),
        ],
    )
    plan = publish(w, week)
    joint, individual = plan["items"][0]["id"], plan["items"][1]["id"]
    starts = at(week + timedelta(days=2), time(20, 0))
    agreed(w.partner_a, w.partner_b, joint, starts)
    propose(w.partner_b, joint, at(week + timedelta(days=3), time(20, 0)))
    propose(w.partner_a, individual, at(week + timedelta(days=1), time(7, 0)))
    propose(w.partner_b, individual, at(week + timedelta(days=1), time(8, 0)))
    booked = w.therapist.put(
        f"/api/couples/{w.couple_id}/next-appointment",
        json={
            "starts_at": at(week + timedelta(days=4), time(10, 0)).isoformat(),
            "note": SECRET_NOTE,
        },
    )
    assert booked.status_code == 200, booked.text
    checkin = w.partner_a.post(
        f"/api/couples/{w.couple_id}/checkins",
        json={"text": "CHECKIN-TEXT-9", "visibility": "partner"},
    )
    assert checkin.status_code == 201, checkin.text
    return w, plan, starts


class TestTheFeed:
    def test_a_valid_discreet_calendar_in_the_persons_zone(self, app: FastAPI) -> None:
        w, _plan, starts = couple_with_times(app)
        settings_for(w.partner_a, timezone="America/Chicago")
        url = feed_on(w.partner_a)
        secret = url.rsplit("/", 1)[1].removesuffix(".ics")
        assert len(secret) >= 43  # at least 256 bits of base64url
        answer = fetch(url, app)
        assert answer.headers["cache-control"].startswith("private")
        calendar = parsed(answer)
        assert str(calendar["version"]) == "2.0" and calendar.get("prodid")
        assert [str(t["tzid"]) for t in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
        # The agreed joint time, the person's own time, the appointment; not the open
        # proposal, not the partner's own time.
        assert summaries(calendar) == ["Tandem", "Tandem", "Time together"]
        events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
        together = events["Time together"]
        assert together.decoded("dtstart") == starts
        assert str(together.decoded("dtstart").tzinfo) == "America/Chicago"
        for event in calendar.walk("VEVENT"):
            for required in ("uid", "dtstamp", "dtstart", "dtend"):
                assert event.get(required) is not None, required
        text = answer.text
        for leaked in (SECRET_NOTE, "CHECKIN-TEXT-9", secret, "Alex", "Sam", *TITLES):
            assert leaked not in text
        assert "\r\n" in text
        assert max(len(line) for line in answer.content.split(b"\r\n")) <= 75

    def test_discreet_off_shows_the_exercise_titles(self, app: FastAPI) -> None:
        w, plan, _ = couple_with_times(app)
        url = feed_on(w.partner_b, discreet=False)
        calendar = parsed(fetch(url, app))
        titles = {i["title"] for i in plan["items"]}
        assert set(summaries(calendar)) == titles | {"Therapy appointment"}
        assert SECRET_NOTE not in fetch(url, app).text
        back = w.partner_b.patch("/api/me/calendar-feed", json={"discreet": True})
        assert back.status_code == 200 and back.json()["discreet"] is True
        assert set(summaries(parsed(fetch(url, app)))) <= {"Tandem", "Time together"}

    def test_the_url_is_shown_once_and_stored_only_as_a_hash(self, app: FastAPI, engine) -> None:
        w = make_world(app)
        assert w.partner_a.get("/api/me/calendar-feed").json() == {
            "enabled": False,
            "created_at": None,
            "discreet": True,
        }
        url = feed_on(w.partner_a)
        secret = url.rsplit("/", 1)[1].removesuffix(".ics")
        shown = w.partner_a.get("/api/me/calendar-feed")
        assert shown.json()["enabled"] is True and shown.json()["created_at"]
        assert secret not in shown.text and "url" not in shown.json()
        with Session(engine) as session:
            row = session.exec(
                select(CalendarFeed).where(CalendarFeed.user_id == uuid.UUID(w.partner_a.id))
            ).one()
            assert row.secret_hash == digest(secret)
        assert secret not in w.partner_a.get("/api/me/export").text


class TestEndingIt:
    def test_a_new_url_ends_the_old_one_at_once_and_off_ends_both(self, app: FastAPI) -> None:
        w = make_world(app)
        first = feed_on(w.partner_a)
        second = feed_on(w.partner_a)
        assert fetch(first, app).status_code == 404
        assert fetch(second, app).status_code == 200
        assert w.partner_a.delete("/api/me/calendar-feed").status_code == 204
        assert fetch(second, app).status_code == 404
        assert w.partner_a.get("/api/me/calendar-feed").json()["enabled"] is False
        assert (
            w.partner_a.patch("/api/me/calendar-feed", json={"discreet": False}).status_code == 404
        )

    def test_leaving_the_couple_or_deleting_the_account_ends_it(self, app: FastAPI) -> None:
        w = make_world(app)
        leaver, deleter = feed_on(w.partner_a), feed_on(w.partner_b)
        assert w.partner_a.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        assert fetch(leaver, app).status_code == 404
        assert w.partner_a.get("/api/me/calendar-feed").json()["enabled"] is False
        gone = w.partner_b.request("DELETE", "/api/me", json={"password": w.partner_b.password})
        assert gone.status_code == 204, gone.text
        assert fetch(deleter, app).status_code == 404

    def test_therapists_and_partners_without_a_couple_have_no_feed(self, app: FastAPI) -> None:
        w = make_world(app)
        assert w.therapist.post("/api/me/calendar-feed").status_code == 403
        assert w.partner_a.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        alone = w.partner_a.post("/api/me/calendar-feed")
        assert alone.status_code == 409
        assert "Join your couple" in alone.json()["detail"]


class TestLimitsAndLogs:
    def test_guessing_and_hammering_are_slowed_down(self, app: FastAPI) -> None:
        w = make_world(app)
        url = feed_on(w.partner_a)
        guesser = new_client(app)
        codes = [guesser.get(f"/api/calendar/{uuid.uuid4().hex}.ics").status_code for _ in range(8)]
        assert codes[0] == 404 and codes[-1] == 429
        reader = new_client(app)
        fetched = [reader.get(path_of(url)).status_code for _ in range(8)]
        assert fetched[0] == 200 and fetched[-1] == 429
        limited = reader.get(path_of(url))
        assert int(limited.headers["retry-after"]) >= 1

    def test_the_secret_never_reaches_a_log_line(self, app: FastAPI, caplog) -> None:  # noqa: ANN001
        w = make_world(app)
        url = feed_on(w.partner_a)
        secret = url.rsplit("/", 1)[1].removesuffix(".ics")
        with caplog.at_level(logging.DEBUG):
            assert fetch(url, app).status_code == 200
            assert fetch(url.replace(secret, secret[::-1]), app).status_code == 404
        routes = [getattr(r, "route", None) for r in caplog.records if r.name == "tandem.access"]
        assert "/api/calendar/{secret}.ics" in routes
        # The server's records (httpx's are the calling calendar app's own).
        for record in caplog.records:
            if record.name.startswith(("httpx", "httpcore")):
                continue
            assert secret not in record.getMessage()
            assert secret[::-1] not in record.getMessage()
            assert secret not in str(vars(record))


class TestAppointmentFile:
    def test_the_next_appointment_downloads_as_one_discreet_event(self, app: FastAPI) -> None:
        w, _, _ = couple_with_times(app)
        answer = w.partner_b.get(f"/api/couples/{w.couple_id}/next-appointment.ics")
        calendar = parsed(answer)
        assert "attachment" in answer.headers["content-disposition"]
        [event] = calendar.walk("VEVENT")
        assert str(event["summary"]) == "Tandem"
        seen = w.partner_b.get(f"/api/couples/{w.couple_id}/next-appointment").json()
        assert event.decoded("dtstart") == datetime.fromisoformat(seen["starts_at"])
        assert SECRET_NOTE not in answer.text
        assert calendar.walk("VTIMEZONE")
        none = make_world(app)
        empty = none.partner_a.get(f"/api/couples/{none.couple_id}/next-appointment.ics")
        assert empty.status_code == 404
