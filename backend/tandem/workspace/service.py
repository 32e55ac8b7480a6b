"""The therapist's overview settings, and the date spans the history and the brief cover."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from tandem.appointments.models import Appointment
from tandem.core.db import utcnow
from tandem.core.errors import Invalid
from tandem.couples.models import Couple
from tandem.plans import progress
from tandem.workspace.history import local_bounds
from tandem.workspace.models import (
    Direction,
    RatingKey,
    RatingRule,
    WorkspaceSetting,
    WorkspaceSettingsBody,
    WorkspaceSettingsRead,
)

# A span longer than this is an archive, not a page to prepare a session with.
MAX_SPAN_DAYS = 366
# The brief's default span when no appointment has taken place yet.
BRIEF_DEFAULT_DAYS = 28

# --- settings -----------------------------------------------------------------------------


def _read(row: WorkspaceSetting) -> WorkspaceSettingsRead:
    rule = None
    if row.rating_key is not None:
        rule = RatingRule(
            key=RatingKey(row.rating_key),
            direction=Direction(row.rating_direction),
            threshold=row.rating_threshold,
        )
    return WorkspaceSettingsRead(inactive_days=row.inactive_days, rating=rule)


def my_settings(session: Session, *, user_id: uuid.UUID) -> WorkspaceSettingsRead:
    return _read(session.get(WorkspaceSetting, user_id) or WorkspaceSetting(user_id=user_id))


def put_my_settings(
    session: Session, *, user_id: uuid.UUID, data: WorkspaceSettingsBody
) -> WorkspaceSettingsRead:
    row = session.get(WorkspaceSetting, user_id) or WorkspaceSetting(user_id=user_id)
    row.inactive_days = data.inactive_days
    row.rating_key = data.rating.key if data.rating else None
    if data.rating:
        row.rating_direction = data.rating.direction
        row.rating_threshold = data.rating.threshold
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return _read(row)


def with_overrides(
    saved: WorkspaceSettingsRead,
    *,
    inactive_days: int | None,
    rating: str | None,
    at_least: int | None,
    at_most: int | None,
) -> WorkspaceSettingsRead:
    """The saved rules, with what the request's query names instead (a shared link, a quick
    look at another threshold) without changing what is saved."""
    rule = saved.rating
    if rating == "none":
        if at_least is not None or at_most is not None:
            raise Invalid("Leave the threshold out when no rating is watched")
        rule = None
    elif rating is not None or at_least is not None or at_most is not None:
        if at_least is not None and at_most is not None:
            raise Invalid("Give either rating_at_least or rating_at_most, not both")
        if rating is None:
            raise Invalid("Say which rating the threshold is for (rating=anxiety, for example)")
        if at_least is not None:
            direction, threshold = Direction.at_least, at_least
        elif at_most is not None:
            direction, threshold = Direction.at_most, at_most
        else:
            raise Invalid("Give a threshold: rating_at_least or rating_at_most, from 0 to 10")
        rule = RatingRule(key=RatingKey(rating), direction=direction, threshold=threshold)
    return WorkspaceSettingsRead(
        inactive_days=inactive_days if inactive_days is not None else saved.inactive_days,
        rating=rule,
    )


def forget(session: Session, *, user_id: uuid.UUID) -> None:
    """Account deletion (the caller commits)."""
    session.execute(delete(WorkspaceSetting).where(col(WorkspaceSetting.user_id) == user_id))


def export(session: Session, *, user_id: uuid.UUID) -> dict[str, object]:
    row = session.get(WorkspaceSetting, user_id)
    return {"workspace_settings": _read(row).model_dump(mode="json") if row else None}


# --- spans --------------------------------------------------------------------------------


def created_on(couple: Couple) -> date:
    return local_date(couple, couple.created_at)


def local_date(couple: Couple, at: datetime) -> date:
    return at.astimezone(ZoneInfo(couple.timezone)).date()


def check_span(since: date, until: date) -> None:
    if since > until:
        raise Invalid("The start date must be on or before the end date")
    if (until - since).days > MAX_SPAN_DAYS:
        raise Invalid("Choose a span of at most a year")


def history_span(couple: Couple, since: date | None, until: date | None) -> tuple[date, date]:
    """By default the weeks the couple has existed, up to a year; never before it existed."""
    until = until or progress.local_today(couple.timezone)
    born = created_on(couple)
    if since is None:
        since = max(born, until - timedelta(days=MAX_SPAN_DAYS - 2))
    since = _not_before_born(couple, since, until)
    check_span(since, until)
    return since, until


def past_appointment(session: Session, couple: Couple, before: date) -> Appointment | None:
    """The latest appointment that started before the end of `before` and is already past."""
    end = min(local_bounds(couple, before, before)[1], utcnow())
    return session.exec(
        select(Appointment)
        .where(Appointment.couple_id == couple.id, col(Appointment.starts_at) < end)
        .order_by(col(Appointment.starts_at).desc())
    ).first()


def appointment_for(session: Session, couple: Couple, until: date) -> Appointment | None:
    """The appointment a brief ending on `until` prepares for: the next one when the brief
    runs to today (or later), else the first one from that day on."""
    if until >= progress.local_today(couple.timezone):
        start = utcnow()
    else:
        start = local_bounds(couple, until, until)[0]
    return session.exec(
        select(Appointment)
        .where(Appointment.couple_id == couple.id, col(Appointment.starts_at) > start)
        .order_by(col(Appointment.starts_at))
    ).first()


def brief_span(
    session: Session, couple: Couple, since: date | None, until: date | None
) -> tuple[date, date]:
    """By default from the last appointment (or the last four weeks) to today."""
    today = progress.local_today(couple.timezone)
    until = until or today
    if since is None:
        last = past_appointment(session, couple, until)
        since = (
            local_date(couple, last.starts_at)
            if last is not None
            else until - timedelta(days=BRIEF_DEFAULT_DAYS - 1)
        )
    since = _not_before_born(couple, since, until)
    check_span(since, until)
    return since, until


def _not_before_born(couple: Couple, since: date, until: date) -> date:
    # Weeks before the couple existed hold nothing: they are not shown as empty weeks.
    born = created_on(couple)
    return born if since < born <= until else since
