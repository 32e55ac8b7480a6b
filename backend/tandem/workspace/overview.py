"""The couples overview: every couple of a therapist at a glance, in one request.

Every figure comes from what the therapist may read (SPEC §3): the couple's members, plans and
session logs, and the entries and preparation sections that name this therapist as their reader
(`therapist_reader_id`, recorded when each was written). Private entries live in other tables
and entries shared with the partner only name another reader, so neither can move a count, a
flag or "last activity".

A fixed number of queries whatever the number of couples: each one reads all the couples at
once (tests/test_workspace_overview.py counts them).
"""

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, union_all
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.appointments.models import Appointment, PrepSection
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.db import read_utc, utcnow
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Mode
from tandem.journal import entries
from tandem.journal.models import CheckinRead, SharedCheckin, SharedNote
from tandem.measures import results as measures
from tandem.plans import progress
from tandem.plans.models import LogStatus, PlanItem, PracticeLog, WeeklyPlan
from tandem.workspace.models import (
    WAITING_DAYS,
    WINDOW_DAYS,
    AppointmentBrief,
    Count,
    CoupleRow,
    Direction,
    Flags,
    OverviewRead,
    PartnerCount,
    PersonRead,
    RatingFlag,
    RatingKey,
    RatingRule,
    ThisWeek,
    WorkspaceSettingsRead,
)


def therapist_couples(session: Session, therapist_id: uuid.UUID) -> list[Couple]:
    return list(
        session.exec(
            select(Couple)
            .join(Membership, col(Membership.couple_id) == Couple.id)
            .where(
                Membership.user_id == therapist_id,
                Membership.role == Role.therapist,
                col(Membership.left_at).is_(None),
            )
            .order_by(col(Couple.label), col(Couple.id))
        )
    )


def _partners(
    session: Session, couple_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[Membership, User]]]:
    """Every partner membership of these couples, past ones too, oldest first."""
    found: dict[uuid.UUID, list[tuple[Membership, User]]] = defaultdict(list)
    for membership, user in session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(col(Membership.couple_id).in_(couple_ids), Membership.role == Role.partner)
        .order_by(col(Membership.joined_at))
    ).all():
        found[membership.couple_id].append((membership, user))
    return found


def _next_appointments(
    session: Session, couple_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Appointment]:
    found: dict[uuid.UUID, Appointment] = {}
    for appointment in session.exec(
        select(Appointment)
        .where(col(Appointment.couple_id).in_(couple_ids), col(Appointment.starts_at) > now)
        .order_by(col(Appointment.starts_at))
    ):
        found.setdefault(appointment.couple_id, appointment)
    return found


def _log_flags(
    session: Session, couple_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[str, int]]:
    """Per couple: joint logs waiting too long, and logs disputed within the window."""
    waiting = and_(
        col(PracticeLog.status) == LogStatus.awaiting_partner,
        col(PracticeLog.created_at) < now - timedelta(days=WAITING_DAYS),
    )
    disputed = and_(
        col(PracticeLog.status) == LogStatus.disputed,
        col(PracticeLog.updated_at) >= now - timedelta(days=WINDOW_DAYS),
    )
    found: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for couple_id, status, n in session.exec(
        select(WeeklyPlan.couple_id, PracticeLog.status, func.count())
        .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(col(WeeklyPlan.couple_id).in_(couple_ids), or_(waiting, disputed))
        .group_by(col(WeeklyPlan.couple_id), col(PracticeLog.status))
    ).all():
        found[couple_id][status] = n
    return found


def _last_activity(
    session: Session, couple_ids: list[uuid.UUID], therapist_id: uuid.UUID
) -> dict[uuid.UUID, datetime]:
    """The latest thing the partners did that this therapist can see: a session logged,
    confirmed, disputed or withdrawn; an entry or a preparation section shared with them."""
    logs = (
        select(WeeklyPlan.couple_id, func.max(PracticeLog.updated_at).label("at"))
        .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
        .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
        .where(col(WeeklyPlan.couple_id).in_(couple_ids))
        .group_by(col(WeeklyPlan.couple_id))
    )
    parts = [logs]
    for table in (SharedNote, SharedCheckin, PrepSection):
        parts.append(
            select(table.couple_id, func.max(table.updated_at).label("at"))
            .where(
                col(table.couple_id).in_(couple_ids),
                col(table.therapist_reader_id) == therapist_id,
            )
            .group_by(col(table.couple_id))
        )
    found: dict[uuid.UUID, datetime] = {}
    for couple_id, at in session.execute(union_all(*parts)).all():
        if at is None:
            continue
        at = read_utc(at)
        if couple_id not in found or at > found[couple_id]:
            found[couple_id] = at
    return found


def _rating_flags(
    session: Session,
    *,
    settings: Settings,
    couple_ids: list[uuid.UUID],
    therapist_id: uuid.UUID,
    rule: RatingRule | None,
    now: datetime,
) -> dict[uuid.UUID, list[RatingFlag]]:
    """Per couple and partner, the most marked rating at or beyond the rule within the window,
    among check-ins shared with this therapist."""
    if rule is None:
        return {}
    rows = list(
        session.exec(
            select(SharedCheckin).where(
                col(SharedCheckin.couple_id).in_(couple_ids),
                col(SharedCheckin.therapist_reader_id) == therapist_id,
                col(SharedCheckin.sealed_ratings).is_not(None),
                col(SharedCheckin.created_at) >= now - timedelta(days=WINDOW_DAYS),
            )
        )
    )
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    keyring.preload({row.author_id for row in rows})
    worst: dict[tuple[uuid.UUID, uuid.UUID], RatingFlag] = {}
    for entry in entries.opened(keyring, entries.CHECKIN, rows):
        assert isinstance(entry, CheckinRead)
        value = getattr(entry.ratings, rule.key)
        if value is None or not rule.hits(value):
            continue
        key = (entry.couple_id, entry.author_id)
        seen = worst.get(key)
        more = seen is None or (
            value > seen.value if rule.direction == Direction.at_least else value < seen.value
        )
        if more or (seen is not None and value == seen.value and entry.created_at > seen.at):
            worst[key] = RatingFlag(
                user_id=entry.author_id, key=RatingKey(rule.key), value=value, at=entry.created_at
            )
    found: dict[uuid.UUID, list[RatingFlag]] = defaultdict(list)
    for (couple_id, _author), flag in sorted(worst.items(), key=lambda kv: str(kv[0])):
        found[couple_id].append(flag)
    return found


def _prepared(
    session: Session, appointments: dict[uuid.UUID, Appointment], therapist_id: uuid.UUID
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Partners who shared some preparation with this therapist for the next appointment."""
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    ids = [a.id for a in appointments.values()]
    if not ids:
        return found
    for couple_id, author_id in session.exec(
        select(PrepSection.couple_id, PrepSection.author_id)
        .where(
            col(PrepSection.appointment_id).in_(ids),
            col(PrepSection.therapist_reader_id) == therapist_id,
        )
        .distinct()
    ).all():
        found[couple_id].append(author_id)
    return found


Tallies = list[tuple[PlanItem, progress.Tally]]


def _this_week(week_start: date, tallies: Tallies, active: list[uuid.UUID]) -> ThisWeek:
    joint = [0, 0]
    individual = {user: [0, 0] for user in active}
    for item, tally in tallies:
        if item.mode == Mode.joint:
            joint[0] += tally.done
            joint[1] += tally.target
            continue
        for user, (done, target) in tally.by_user.items():
            sums = individual.setdefault(user, [0, 0])
            sums[0] += done
            sums[1] += target
    return ThisWeek(
        week_start=week_start,
        total=Count(done=sum(t.done for _, t in tallies), target=sum(t.target for _, t in tallies)),
        joint=Count(done=joint[0], target=joint[1]),
        partners=[PartnerCount(user_id=u, done=d, target=t) for u, (d, t) in individual.items()],
    )


def overview(
    session: Session,
    *,
    settings: Settings,
    therapist: User,
    rules: WorkspaceSettingsRead,
) -> OverviewRead:
    now = utcnow()
    therapist_id = therapist.id
    couples = therapist_couples(session, therapist_id)
    ids = [c.id for c in couples]
    if not ids:
        return OverviewRead(generated_at=now, settings=rules, couples=[])
    members = _partners(session, ids)
    active = {
        couple_id: [m.user_id for m, _ in rows if m.left_at is None]
        for couple_id, rows in members.items()
    }
    weeks = progress.current_weeks(session, couples, active)
    appointments = _next_appointments(session, ids, now)
    logs = _log_flags(session, ids, now)
    activity = _last_activity(session, ids, therapist_id)
    ratings = _rating_flags(
        session,
        settings=settings,
        couple_ids=ids,
        therapist_id=therapist_id,
        rule=rules.rating,
        now=now,
    )
    prepared = _prepared(session, appointments, therapist_id)
    risks = {c.couple_id: c.open for c in measures.open_flag_counts(session, user=therapist)}
    rows = [
        _row(
            couple,
            members=members.get(couple.id, []),
            tallies=weeks.get(couple.id),
            appointment=appointments.get(couple.id),
            logs=logs.get(couple.id, {}),
            last=activity.get(couple.id),
            ratings=ratings.get(couple.id, []),
            prepared=prepared.get(couple.id, []),
            risk=risks.get(couple.id, 0),
            inactive_days=rules.inactive_days,
            now=now,
        )
        for couple in couples
    ]
    # Showing a rating flag tells the therapist something a partner wrote: it is a read.
    audit.record_reads_in_couples(
        session,
        action="journal.read_by_therapist",
        reader_id=therapist_id,
        reads={row.id: {flag.user_id for flag in row.flags.ratings} for row in rows},
        detail="checkins (overview flag)",
    )
    return OverviewRead(generated_at=now, settings=rules, couples=rows)


def _row(
    couple: Couple,
    *,
    members: list[tuple[Membership, User]],
    tallies: Tallies | None,
    appointment: Appointment | None,
    logs: dict[str, int],
    last: datetime | None,
    ratings: list[RatingFlag],
    prepared: list[uuid.UUID],
    risk: int,
    inactive_days: int,
    now: datetime,
) -> CoupleRow:
    active = [(m, u) for m, u in members if m.left_at is None]
    active_ids = {m.user_id for m, _ in active}
    left = [
        PersonRead(user_id=m.user_id, display_name=u.display_name, left_at=m.left_at)
        for m, u in members
        if m.left_at is not None and m.user_id not in active_ids
    ]
    quiet_days = None
    since = last or max((m.joined_at for m, _ in active), default=None)
    if since is not None and now - since >= timedelta(days=inactive_days):
        quiet_days = (now - since).days
    flags = Flags(
        waiting=logs.get(LogStatus.awaiting_partner, 0),
        disputes=logs.get(LogStatus.disputed, 0),
        quiet_days=quiet_days,
        # A partner who left and was not replaced: the couple is one person now.
        partner_left=left[-1:] if left and len(active) < 2 else [],
        ratings=ratings,
        prepared=[p for p in prepared if p in active_ids],
        risk=risk,
    )
    raised = [
        flags.waiting > 0,
        flags.disputes > 0,
        flags.quiet_days is not None,
        bool(flags.partner_left),
        bool(flags.ratings),
        bool(flags.prepared),
        flags.risk > 0,
    ]
    week_start = progress.week_of(progress.local_today(couple.timezone))
    return CoupleRow(
        id=couple.id,
        label=couple.label,
        timezone=couple.timezone,
        created_at=couple.created_at,
        partners=[PersonRead(user_id=m.user_id, display_name=u.display_name) for m, u in active],
        next_appointment=AppointmentBrief(
            id=appointment.id, starts_at=appointment.starts_at, note=appointment.note
        )
        if appointment
        else None,
        this_week=_this_week(week_start, tallies, [m.user_id for m, _ in active])
        if tallies is not None
        else None,
        flags=flags,
        attention=sum(raised),
        last_activity_at=last,
    )
