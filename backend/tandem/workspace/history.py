"""What happened in a couple between two dates, as their therapist may see it: adherence per
week, exercise and partner; the timeline of events; the check-in ratings shared with them.

Read from the plans, journal, appointments and couples domains, one way: none of them imports
this package. Shared entries are read here only when they name the reader (the therapist, or
for a partner's own summary the other partner) as their reader; a therapist's reads are
recorded in the access log by the caller (`History.authors_read`).
"""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.appointments.models import Appointment, PrepSection
from tandem.core import crypto
from tandem.core.config import Settings
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Exercise, Mode
from tandem.journal import entries as journal_entries
from tandem.journal import ranges
from tandem.journal.models import CheckinRead, NoteRead
from tandem.plans import answers as plan_answers
from tandem.plans import progress
from tandem.plans.models import LogStatus, PlanItem, PlanStatus, PracticeLog, WeeklyPlan
from tandem.workspace.models import (
    Event,
    EventKind,
    HistoryWeek,
    ItemWeek,
    PartnerCount,
    PersonRead,
    RatingPoint,
)


@dataclass
class History:
    couple: Couple
    since: date
    until: date
    partners: list[PersonRead]
    weeks: list[HistoryWeek] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ratings: list[RatingPoint] = field(default_factory=list)
    notes: list[NoteRead] = field(default_factory=list)
    checkins: list[CheckinRead] = field(default_factory=list)
    plans: list[WeeklyPlan] = field(default_factory=list)
    # People whose shared entries were opened for this answer: the caller logs the reads.
    authors_read: set[uuid.UUID] = field(default_factory=set)
    # People whose dispute reasons were opened for this answer (logged apart, as plans does).
    reasons_read: set[uuid.UUID] = field(default_factory=set)


def local_bounds(couple: Couple, since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in the couple's time zone, as UTC instants."""
    zone = ZoneInfo(couple.timezone)
    start = datetime.combine(since, time(), zone).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def local_week(couple: Couple, at: datetime) -> date:
    return progress.week_of(at.astimezone(ZoneInfo(couple.timezone)).date())


def partner_people(session: Session, couple_id: uuid.UUID) -> list[PersonRead]:
    """The couple's partners, present and past (with when they left), oldest first."""
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.couple_id == couple_id, Membership.role == Role.partner)
        .order_by(col(Membership.joined_at))
    ).all()
    people: dict[uuid.UUID, PersonRead] = {}
    for membership, user in rows:
        people[membership.user_id] = PersonRead(
            user_id=membership.user_id, display_name=user.display_name, left_at=membership.left_at
        )
    return list(people.values())


def _memberships(session: Session, couple_id: uuid.UUID) -> list[Membership]:
    return list(
        session.exec(
            select(Membership).where(
                Membership.couple_id == couple_id, Membership.role == Role.partner
            )
        )
    )


# A log with its item, its exercise's title and its plan's week.
LogRow = tuple[PracticeLog, PlanItem, str, date]


def _logs(session: Session, couple_id: uuid.UUID, first: date, last: date) -> list[LogRow]:
    """Every log of the couple's plans for these weeks, archived items' too, with the item's
    mode, its exercise's title and the plan's week."""
    return list(
        session.exec(
            select(PracticeLog, PlanItem, col(Exercise.title), col(WeeklyPlan.week_start))
            .join(PlanItem, col(PlanItem.id) == PracticeLog.plan_item_id)
            .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
            .join(Exercise, col(Exercise.id) == PlanItem.exercise_id)
            .where(
                WeeklyPlan.couple_id == couple_id,
                col(WeeklyPlan.week_start) >= first,
                col(WeeklyPlan.week_start) <= last,
            )
            .order_by(col(PracticeLog.created_at))
        ).all()
    )


def _weeks(
    session: Session,
    couple: Couple,
    first: date,
    last: date,
    logs: list[LogRow],
) -> tuple[list[HistoryWeek], list[WeeklyPlan]]:
    """Adherence per week (oldest first), per exercise and per partner, by the same rules as
    `plans.progress`; with each exercise's waiting, disputed and withdrawn logs."""
    plans = {
        p.id: p
        for p in session.exec(
            select(WeeklyPlan).where(
                WeeklyPlan.couple_id == couple.id,
                WeeklyPlan.status == PlanStatus.published,
                col(WeeklyPlan.week_start) >= first,
                col(WeeklyPlan.week_start) <= last,
            )
        )
    }
    items = progress.load_items(session, plans)
    explicit = progress.explicit_assignees(session, [i.id for i, _ in items])
    partners = progress.active_partner_ids(session, couple.id)
    counts: dict[uuid.UUID, progress.Counts] = defaultdict(Counter)
    others: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for log, item, _title, _week in logs:
        status = LogStatus(log.status)
        if status in (LogStatus.done, LogStatus.awaiting_partner):
            counts[item.id][(log.logged_by, status)] += 1
        others[item.id][status] += 1
    by_plan: dict[uuid.UUID, list[tuple[PlanItem, Exercise]]] = defaultdict(list)
    for item, exercise in items:
        by_plan[item.plan_id].append((item, exercise))
    plan_of_week = {p.week_start: p for p in plans.values()}
    weeks = []
    start = first
    while start <= last:
        plan = plan_of_week.get(start)
        week = HistoryWeek(
            week_start=start,
            published_at=plan.published_at if plan else None,
            done=0,
            target=0,
            partners=[],
            items=[],
        )
        people: dict[uuid.UUID, list[int]] = {}
        for item, exercise in by_plan.get(plan.id, []) if plan else []:
            assignees = progress.assignees_of(item, explicit, partners)
            tally = progress.tally_item(item.mode, item.times_per_week, assignees, counts[item.id])
            week.done += tally.done
            week.target += tally.target
            week.items.append(
                ItemWeek(
                    plan_item_id=item.id,
                    exercise_id=exercise.id,
                    title=exercise.title,
                    mode=Mode(item.mode),
                    done=tally.done,
                    target=tally.target,
                    partners=[
                        PartnerCount(user_id=u, done=d, target=t)
                        for u, (d, t) in tally.by_user.items()
                    ],
                    awaiting=tally.awaiting,
                    disputed=others[item.id][LogStatus.disputed],
                    withdrawn=others[item.id][LogStatus.withdrawn],
                )
            )
            for user, (done, target) in tally.by_user.items():
                sums = people.setdefault(user, [0, 0])
                sums[0] += done
                sums[1] += target
        week.partners = [PartnerCount(user_id=u, done=d, target=t) for u, (d, t) in people.items()]
        weeks.append(week)
        start += timedelta(weeks=1)
    return weeks, list(plans.values())


def _log_events(couple: Couple, logs: list[LogRow], reasons: dict[uuid.UUID, str]) -> list[Event]:
    events = []
    for log, _item, title, _week in logs:
        common: dict[str, Any] = {"title": title, "done_on": log.done_on, "status": log.status}

        def at(when: datetime) -> dict[str, Any]:
            return {"at": when, "week_start": local_week(couple, when)}

        events.append(
            Event(kind=EventKind.logged, actor_id=log.logged_by, **at(log.created_at), **common)
        )
        if log.status == LogStatus.done and log.confirmed_by is not None:
            events.append(
                Event(
                    kind=EventKind.confirmed,
                    actor_id=log.confirmed_by,
                    **at(log.updated_at),
                    **common,
                )
            )
        if log.disputed_by is not None:
            events.append(
                Event(
                    kind=EventKind.disputed,
                    actor_id=log.disputed_by,
                    reason=reasons.get(log.id),
                    **at(log.disputed_at or log.updated_at),
                    **common,
                )
            )
        if log.status == LogStatus.withdrawn:
            events.append(
                Event(
                    kind=EventKind.withdrawn,
                    actor_id=log.logged_by,
                    closed=log.withdrawn_reason,
                    **at(log.updated_at),
                    **common,
                )
            )
    return events


def _reasons(
    session: Session,
    settings: Settings,
    found: History,
    logs: list[LogRow],
    reader_id: uuid.UUID,
) -> dict[uuid.UUID, str]:
    """What the disputing partners said, for the reader who was there when they said it (the
    plans domain's rule); who said it is kept for the access log."""
    joined = session.exec(
        select(Membership.joined_at).where(
            Membership.couple_id == found.couple.id,
            Membership.user_id == reader_id,
            col(Membership.left_at).is_(None),
        )
    ).first()
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    reasons = {}
    for log, _item, _title, _week in logs:
        if joined is None or not plan_answers.reason_readable(joined, log.disputed_at):
            continue
        text = plan_answers.open_reason(
            keyring,
            log_id=log.id,
            sealed=log.sealed_dispute_reason,
            disputed_by=log.disputed_by,
        )
        if text is not None and log.disputed_by is not None:  # no author, no text
            reasons[log.id] = text
            found.reasons_read.add(log.disputed_by)
    return reasons


def _journal(
    session: Session,
    settings: Settings,
    history: History,
    reader_id: uuid.UUID,
    bounds: tuple[datetime, datetime],
) -> None:
    keyring = crypto.Keyring(session, settings.key_encryption_key)
    for kind in (journal_entries.NOTE, journal_entries.CHECKIN):
        entries = ranges.shared_with(
            session,
            keyring=keyring,
            kind=kind,
            couple_ids=[history.couple.id],
            reader_id=reader_id,
            since=bounds[0],
            until=bounds[1],
        )
        for entry in entries:
            history.authors_read.add(entry.author_id)
            if isinstance(entry, NoteRead):
                history.notes.append(entry)
            else:
                history.checkins.append(entry)
    for note in history.notes:
        history.events.append(
            Event(
                at=note.created_at,
                week_start=local_week(history.couple, note.created_at),
                kind=EventKind.note,
                actor_id=note.author_id,
                text=note.body,
                visibility=note.visibility,
            )
        )
    for checkin in history.checkins:
        history.events.append(
            Event(
                at=checkin.created_at,
                week_start=local_week(history.couple, checkin.created_at),
                kind=EventKind.checkin,
                actor_id=checkin.author_id,
                text=checkin.text,
                obstacles=checkin.obstacles,
                ratings=checkin.ratings,
                visibility=checkin.visibility,
            )
        )
        if any(v is not None for v in checkin.ratings.model_dump().values()):
            history.ratings.append(
                RatingPoint(
                    author_id=checkin.author_id, at=checkin.created_at, ratings=checkin.ratings
                )
            )
    history.ratings.sort(key=lambda p: p.at)


def _other_events(
    session: Session,
    history: History,
    reader_id: uuid.UUID,
    bounds: tuple[datetime, datetime],
) -> None:
    couple = history.couple
    start, end = bounds

    def inside(at: datetime | None) -> TypeGuard[datetime]:
        return at is not None and start <= at < end

    def event(
        at: datetime,
        kind: EventKind,
        *,
        actor_id: uuid.UUID | None = None,
        count: int | None = None,
    ) -> Event:
        return Event(
            at=at, week_start=local_week(couple, at), kind=kind, actor_id=actor_id, count=count
        )

    for plan in history.plans:
        if inside(plan.published_at):
            history.events.append(event(plan.published_at, EventKind.plan_published))
    for membership in _memberships(session, couple.id):
        if inside(membership.joined_at):
            history.events.append(
                event(membership.joined_at, EventKind.joined, actor_id=membership.user_id)
            )
        if inside(membership.left_at):
            history.events.append(
                event(membership.left_at, EventKind.left, actor_id=membership.user_id)
            )
    now = datetime.now(UTC)
    for appointment in session.exec(
        select(Appointment).where(
            Appointment.couple_id == couple.id,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < min(end, now),
        )
    ):
        history.events.append(event(appointment.starts_at, EventKind.appointment))
    # Preparation: who shared how much with this reader, not what (that is the brief's).
    prepared: dict[tuple[uuid.UUID, uuid.UUID], list[PrepSection]] = defaultdict(list)
    for section in session.exec(
        select(PrepSection).where(
            PrepSection.couple_id == couple.id,
            col(PrepSection.therapist_reader_id) == reader_id,
            col(PrepSection.updated_at) >= start,
            col(PrepSection.updated_at) < end,
        )
    ):
        prepared[(section.appointment_id, section.author_id)].append(section)
    for (_appointment, author), sections in prepared.items():
        at = max(s.updated_at for s in sections)
        history.events.append(event(at, EventKind.prep, actor_id=author, count=len(sections)))


def history(
    session: Session,
    *,
    settings: Settings,
    couple: Couple,
    reader_id: uuid.UUID,
    since: date,
    until: date,
) -> History:
    found = History(
        couple=couple, since=since, until=until, partners=partner_people(session, couple.id)
    )
    bounds = local_bounds(couple, since, until)
    first, last = progress.week_of(since), progress.week_of(until)
    logs = _logs(session, couple.id, first, last)
    found.weeks, found.plans = _weeks(session, couple, first, last, logs)
    reasons = _reasons(session, settings, found, logs, reader_id)
    found.events = [e for e in _log_events(couple, logs, reasons) if bounds[0] <= e.at < bounds[1]]
    _journal(session, settings, found, reader_id, bounds)
    _other_events(session, found, reader_id, bounds)
    found.events.sort(key=lambda e: e.at, reverse=True)
    return found
