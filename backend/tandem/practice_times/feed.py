"""The private calendar feed, and an appointment as a one-off `.ics` file.

A feed is a capability URL: whoever holds it reads the person's agreed practice times and the
couple's appointments, so its secret has 256 bits, is stored only as its hash, and a new one
ends the old at once. Titles are discreet unless the person turns that off, and a feed never
holds a note, a check-in or any preparation text. The iCalendar text is made with `icalendar`
(RFC 5545, with a VTIMEZONE for the person's zone).
"""

import uuid
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from tandem.accounts.models import Role, User
from tandem.appointments.models import Appointment, TherapistProfile
from tandem.core import throttle
from tandem.core.config import Settings
from tandem.core.db import table_of, utcnow, write_session
from tandem.core.errors import Conflict, Forbidden, NotFound
from tandem.core.security import digest, new_token
from tandem.couples import service as couples
from tandem.couples.models import Membership
from tandem.exercises.models import Exercise, Mode
from tandem.plans.models import PlanItem
from tandem.practice_times import reminders
from tandem.practice_times.models import (
    CalendarFeed,
    FeedCreate,
    FeedCreated,
    FeedStatus,
    FeedUpdate,
    PracticeSlot,
    SlotStatus,
)

FEED = table_of(CalendarFeed)
# How far back a feed reaches: calendars keep what they saw, so older events need not stay.
HISTORY = timedelta(days=60)
APPOINTMENT_MINUTES = 50
DISCREET_JOINT = "Time together"
DISCREET_OWN = "Tandem"
DISCREET_APPOINTMENT = "Tandem"
# Each fetch counts: a calendar app polling every hour or so never waits; a leaked URL polled
# in a loop soon waits up to a quarter of an hour per fetch (tandem/core/throttle.py).
FETCH_KIND = "feed-fetch"
MISS_KIND = "feed-miss"


def feed_url(settings: Settings, secret: str) -> str:
    return f"{settings.base_url}/api/calendar/{secret}.ics"


def _membership(session: Session, user: User) -> Membership:
    if user.role != Role.partner:
        raise Forbidden("Calendar feeds are for partners")
    membership = session.exec(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.role == Role.partner,
            col(Membership.left_at).is_(None),
        )
    ).first()
    if membership is None:
        raise Conflict("Join your couple first: the feed shows your couple's times")
    return membership


def _live(session: Session, feed: CalendarFeed | None) -> bool:
    if feed is None:
        return False
    membership = session.get(Membership, feed.membership_id)
    user = session.get(User, feed.user_id)
    return (
        membership is not None
        and membership.left_at is None
        and user is not None
        and user.deleted_at is None
    )


def status(session: Session, *, user: User) -> FeedStatus:
    feed = session.get(CalendarFeed, user.id)
    if not _live(session, feed):
        return FeedStatus(enabled=False, created_at=None, discreet=True)
    assert feed is not None
    return FeedStatus(enabled=True, created_at=feed.created_at, discreet=feed.discreet)


def create(
    session: Session, *, settings: Settings, user: User, data: FeedCreate | None
) -> FeedCreated:
    """A new secret URL; the previous one (if any) stops working with this commit."""
    membership = _membership(session, user)
    secret = new_token()
    values = {
        "user_id": user.id,
        "membership_id": membership.id,
        "secret_hash": digest(secret),
        "discreet": data.discreet if data is not None else True,
        "created_at": utcnow(),
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # One row per person, replaced in one statement: two presses at once leave one secret.
    session.execute(
        insert(FEED)
        .values(values)
        .on_conflict_do_update(
            index_elements=["user_id"], set_={k: v for k, v in values.items() if k != "user_id"}
        )
    )
    session.commit()
    return FeedCreated(url=feed_url(settings, secret))


def update(session: Session, *, user: User, data: FeedUpdate) -> FeedStatus:
    feed = session.get(CalendarFeed, user.id)
    if not _live(session, feed):
        raise NotFound("Your calendar feed is off")
    assert feed is not None
    feed.discreet = data.discreet
    session.add(feed)
    session.commit()
    return status(session, user=user)


def remove(session: Session, *, user: User) -> None:
    session.execute(delete(CalendarFeed).where(col(CalendarFeed.user_id) == user.id))
    session.commit()


def forget_user(session: Session, *, user_id: uuid.UUID) -> None:
    session.execute(delete(CalendarFeed).where(col(CalendarFeed.user_id) == user_id))


# --- the feed itself ----------------------------------------------------------------------


def serve(session: Session, *, settings: Settings, secret: str, address: str | None) -> bytes:
    """The feed's iCalendar text. An unknown or ended secret is 404, counted per address."""
    # Nobody with a feed misses it: misses from one address slow down as an account's would.
    misses = throttle.keys(
        settings, MISS_KIND, account=None, address=address, address_rule=throttle.ACCOUNT
    )
    throttle.check(session, misses)
    feed = session.exec(
        select(CalendarFeed).where(CalendarFeed.secret_hash == digest(secret))
    ).first()
    if not _live(session, feed):
        _count(session, misses, drop=feed.user_id if feed is not None else None)
        raise NotFound()
    assert feed is not None
    # Counted per URL: a new URL (the owner's answer to a leak) starts afresh.
    fetches = [f"{FETCH_KIND}:{feed.secret_hash[:40]}"]
    throttle.check(session, fetches)
    body = calendar(session, settings=settings, feed=feed)
    _count(session, fetches)
    return body


def _count(
    session: Session, keys: list[throttle.Key] | list[str], drop: uuid.UUID | None = None
) -> None:
    # The feed is read in a read transaction; counting writes, in a session that takes
    # SQLite's write lock up front. A feed found ended is removed on the way.
    session.commit()
    with write_session(session.get_bind()) as writer:
        throttle.fail(writer, keys)
        if drop is not None:
            forget_user(writer, user_id=drop)
        writer.commit()


def _new_calendar(name: str, zone: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Tandem//Practice times//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone)
    return cal


def _event(
    *, uid: str, start: datetime, minutes: int, summary: str, stamp: datetime, sequence: int
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("sequence", sequence)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    return event


def _finish(cal: Calendar, now: datetime) -> bytes:
    # VTIMEZONE blocks spanning the events' years (any transition they could fall on).
    cal.add_missing_timezones(
        first_date=date(now.year - 1, 1, 1), last_date=date(now.year + 3, 1, 1)
    )
    text: bytes = cal.to_ical()
    return text


def _host(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "tandem"


def calendar(session: Session, *, settings: Settings, feed: CalendarFeed) -> bytes:
    now = utcnow()
    membership = session.get(Membership, feed.membership_id)
    assert membership is not None
    zone_name = reminders.zone_of(session, feed.user_id).key
    zone = ZoneInfo(zone_name)
    cal = _new_calendar("Tandem", zone_name)
    host = _host(settings)
    slots = session.exec(
        select(PracticeSlot, PlanItem, Exercise.title)
        .join(PlanItem, col(PlanItem.id) == PracticeSlot.plan_item_id)
        .join(Exercise, col(Exercise.id) == PlanItem.exercise_id)
        .where(
            PracticeSlot.couple_id == membership.couple_id,
            PracticeSlot.status == SlotStatus.accepted,
            col(PracticeSlot.starts_at) >= now - HISTORY,
            col(PlanItem.archived_at).is_(None),
            (col(PlanItem.mode) == Mode.joint) | (col(PracticeSlot.proposed_by) == feed.user_id),
        )
        .order_by(col(PracticeSlot.starts_at))
    ).all()
    for slot, item, title in slots:
        discreet = DISCREET_JOINT if item.mode == Mode.joint else DISCREET_OWN
        cal.add_component(
            _event(
                uid=f"slot-{slot.id}@{host}",
                start=slot.starts_at.astimezone(zone),
                minutes=item.minutes,
                summary=discreet if feed.discreet else title,
                stamp=slot.updated_at,
                sequence=slot.version,
            )
        )
    minutes = _appointment_minutes(session, membership.couple_id)
    appointments = session.exec(
        select(Appointment)
        .where(
            Appointment.couple_id == membership.couple_id,
            col(Appointment.starts_at) >= now - HISTORY,
        )
        .order_by(col(Appointment.starts_at))
    ).all()
    for appointment in appointments:
        cal.add_component(
            _appointment_event(appointment, zone, host, minutes, discreet=feed.discreet)
        )
    return _finish(cal, now)


def _appointment_minutes(session: Session, couple_id: uuid.UUID) -> int:
    therapist_id = couples.therapist_id(session, couple_id)
    profile = session.get(TherapistProfile, therapist_id) if therapist_id else None
    if profile is not None and profile.session_length_minutes:
        return max(10, min(profile.session_length_minutes, 480))
    return APPOINTMENT_MINUTES


def _appointment_event(
    appointment: Appointment, zone: ZoneInfo, host: str, minutes: int, *, discreet: bool
) -> Event:
    # The appointment's note ("room 2", "bring the list") never goes into a calendar.
    return _event(
        uid=f"appointment-{appointment.id}@{host}",
        start=appointment.starts_at.astimezone(zone),
        minutes=minutes,
        summary=DISCREET_APPOINTMENT if discreet else "Therapy appointment",
        stamp=appointment.updated_at,
        sequence=0,
    )


def appointment_file(session: Session, *, settings: Settings, membership: Membership) -> bytes:
    """The couple's next appointment as a one-off file to add to a calendar."""
    now = utcnow()
    appointment = session.exec(
        select(Appointment)
        .where(Appointment.couple_id == membership.couple_id, col(Appointment.starts_at) > now)
        .order_by(col(Appointment.starts_at))
    ).first()
    if appointment is None:
        raise NotFound("No upcoming appointment")
    zone_name = reminders.zone_of(session, membership.user_id).key
    cal = _new_calendar("Tandem", zone_name)
    minutes = _appointment_minutes(session, membership.couple_id)
    cal.add_component(
        _appointment_event(
            appointment, ZoneInfo(zone_name), _host(settings), minutes, discreet=True
        )
    )
    return _finish(cal, now)
