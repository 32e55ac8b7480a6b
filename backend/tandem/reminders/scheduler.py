"""Daily reminders: each enabled user's occurrences for the next two days, kept as outbox rows.

An occurrence's dedupe key is (user, local date, local time), so running the scheduler again,
or in several workers at once, never makes a second row for it.
"""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from tandem.reminders import clock, hooks, outbox
from tandem.reminders.models import NotificationKind, ReminderPreference, parse_clock

HORIZON_DAYS = 2


def reminder_key(user_id: Any, day: date, at: str) -> str:
    return f"reminder:{user_id}:{day.isoformat()}:{at}"


def wanted_on(pref: ReminderPreference, day: date) -> bool:
    if pref.paused_until is not None and day <= pref.paused_until:
        return False
    return day.weekday() in pref.weekdays


def occurrences(pref: ReminderPreference, *, now: datetime) -> tuple[list[dict[str, Any]], date]:
    """Rows for the user's reminders due after `now`, through the horizon; and the last local
    date covered."""
    zone = ZoneInfo(pref.timezone)
    today = now.astimezone(zone).date()
    last = today + timedelta(days=HORIZON_DAYS)
    first = today
    if pref.scheduled_until is not None and pref.scheduled_until >= today:
        first = pref.scheduled_until + timedelta(days=1)
    rows = []
    day = first
    while day <= last:
        if wanted_on(pref, day):
            for at in pref.times:
                wall = parse_clock(at)
                # The user chose both: a reminder time inside quiet hours does not fire.
                if clock.clock_in_quiet_hours(pref, wall):
                    continue
                due_at = clock.occurrence(day, wall, zone)
                if due_at <= now:
                    continue
                rows.append(
                    {
                        "user_id": pref.user_id,
                        "kind": NotificationKind.reminder.value,
                        "payload": {"url": "/"},
                        "due_at": due_at,
                        "dedupe_key": reminder_key(pref.user_id, day, at),
                        "expires_at": clock.end_of_local_day(day, zone),
                    }
                )
        day += timedelta(days=1)
    return rows, last


def schedule_user(session: Session, *, pref: ReminderPreference, now: datetime) -> None:
    """(Re)plan one user's reminders; the caller commits."""
    if not pref.enabled or not pref.times:
        return
    rows, last = occurrences(pref, now=now)
    outbox.insert_ignore(session, rows)
    pref.scheduled_until = last
    session.add(pref)


def schedule(session: Session, *, now: datetime, batch: int = 1000) -> int:
    """Plan every enabled user whose horizon is not covered yet; returns rows offered."""
    offered = 0
    # A user's horizon ends at most HORIZON_DAYS after their local today; any user scheduled
    # through a date before (UTC today + HORIZON_DAYS - 1) may need a new day.
    stale_before = now.date() + timedelta(days=HORIZON_DAYS + 1)
    prefs = session.exec(
        select(ReminderPreference).where(
            col(ReminderPreference.enabled).is_(True),
            or_(
                col(ReminderPreference.scheduled_until).is_(None),
                col(ReminderPreference.scheduled_until) < stale_before,
            ),
        )
    ).all()
    rows: list[dict[str, Any]] = []
    done: dict[Any, date] = {}
    for pref in prefs:
        new_rows, last = occurrences(pref, now=now)
        if pref.scheduled_until == last:
            continue
        rows += new_rows
        done[pref.user_id] = last
        if len(rows) >= batch:
            outbox.insert_ignore(session, rows)
            offered += len(rows)
            rows = []
    outbox.insert_ignore(session, rows)
    offered += len(rows)
    for user_id, last in done.items():
        session.execute(
            update(ReminderPreference)
            .where(col(ReminderPreference.user_id) == user_id)
            .values(scheduled_until=last)
        )
    for planner in hooks.planners():
        offered += planner(session, now)
    return offered
