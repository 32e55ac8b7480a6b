"""Wall-clock arithmetic for reminders: local times, DST gaps and folds, quiet hours."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from tandem.reminders.models import parse_clock


class QuietHours(Protocol):
    """What quiet hours are read from: a ReminderPreference, or a row with its columns (the
    practice-log write reads them with its context: plans/practice_log_sql.py)."""

    @property
    def quiet_start(self) -> str | None: ...
    @property
    def quiet_end(self) -> str | None: ...
    @property
    def timezone(self) -> str: ...


def occurrence(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day.

    With fold=0 zoneinfo reads a time that does not exist (spring forward) with the offset from
    before the gap, which lands it after the gap by the gap's length (02:30 → 03:30), and an
    ambiguous time (fall back) as its first occurrence, so it fires once.
    """
    return datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(UTC)


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    return occurrence(day + timedelta(days=1), time(0, 0), zone)


def _quiet(pref: QuietHours | None) -> tuple[time, time] | None:
    if pref is None or not pref.quiet_start or not pref.quiet_end:
        return None
    return parse_clock(pref.quiet_start), parse_clock(pref.quiet_end)


def clock_in_quiet_hours(pref: QuietHours | None, at: time) -> bool:
    """Whether a wall-clock time falls in the quiet hours [start, end), which may wrap midnight."""
    quiet = _quiet(pref)
    if quiet is None:
        return False
    start, end = quiet
    at = at.replace(tzinfo=None)
    if start < end:
        return start <= at < end
    return at >= start or at < end


def in_quiet_hours(pref: QuietHours | None, now: datetime) -> bool:
    if _quiet(pref) is None:
        return False
    assert pref is not None
    return clock_in_quiet_hours(pref, now.astimezone(ZoneInfo(pref.timezone)).time())


def quiet_hours_end(pref: QuietHours, now: datetime) -> datetime:
    """The first end of quiet hours after `now` (UTC): where a delayed event notification goes."""
    quiet = _quiet(pref)
    assert quiet is not None
    zone = ZoneInfo(pref.timezone)
    today = now.astimezone(zone).date()
    for offset in (0, 1, 2):
        candidate = occurrence(today + timedelta(days=offset), quiet[1], zone)
        if candidate > now:
            return candidate
    return now  # unreachable: an end of quiet hours comes every day
