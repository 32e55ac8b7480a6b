"""When an assignment is due: its occurrences, in the couple's week.

An occurrence is one window in which a person answers once: the whole assignment for "once";
the couple's week (Monday 00:00 local to the next) for "weekly"; two of those weeks, counted
from the week the assignment was made, for "biweekly"; and the day before an appointment until
it starts for "before_appointment". Its key names it, so a second answer to the same window is
a conflict, and a missed window simply passes (nobody is asked twice for last week).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tandem.measures.models import Cadence
from tandem.reminders import clock

CADENCE_DAYS = {Cadence.weekly: 7, Cadence.biweekly: 14}


@dataclass(frozen=True)
class Occurrence:
    key: str
    opens_at: datetime
    closes_at: datetime | None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return clock.occurrence(day, time(0, 0), zone)


def periodic(
    cadence: Cadence, *, created_at: datetime, timezone: str, now: datetime
) -> Occurrence | None:
    """The window of a weekly or biweekly assignment that contains `now`."""
    zone = ZoneInfo(timezone)
    anchor = _monday(created_at.astimezone(zone).date())
    this_week = _monday(now.astimezone(zone).date())
    if this_week < anchor:
        return None
    span = CADENCE_DAYS[cadence]
    start = anchor + timedelta(days=((this_week - anchor).days // span) * span)
    opens = max(created_at, _midnight(start, zone))
    return Occurrence(
        key=start.isoformat(), opens_at=opens, closes_at=_midnight(start + timedelta(span), zone)
    )


def before_appointment(
    *, appointment_id: object, starts_at: datetime, timezone: str, created_at: datetime
) -> Occurrence:
    """From the start of the (couple's) local day before the appointment until it begins."""
    zone = ZoneInfo(timezone)
    day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
    opens = max(created_at, _midnight(day_before, zone))
    return Occurrence(key=f"appointment:{appointment_id}", opens_at=opens, closes_at=starts_at)


def once(*, created_at: datetime) -> Occurrence:
    return Occurrence(key="once", opens_at=created_at, closes_at=None)


def open_now(occurrence: Occurrence | None, now: datetime) -> bool:
    if occurrence is None or occurrence.opens_at > now:
        return False
    return occurrence.closes_at is None or now < occurrence.closes_at
