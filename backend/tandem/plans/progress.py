"""Progress and adherence: what counts, computed from a fixed number of queries.

The rules: only `done` logs count. A joint item's target is its times per week and any done
log counts for it; an individual item's target is times per week for each assignee, and
only an assignee's own done logs count for them. Nobody is credited beyond a target:
six sessions of a "3 a week" item are 3 of 3, not 6 of 3 (nor do they hide a partner's 0).
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from tandem.accounts.models import Role
from tandem.core.errors import Invalid
from tandem.core.schemas import parse_day
from tandem.couples.models import Couple, Membership
from tandem.exercises.models import Exercise, Mode
from tandem.plans.models import (
    AdherenceRead,
    AdherenceWeek,
    ItemAdherence,
    LogStatus,
    PartnerAdherence,
    PlanItem,
    PlanItemAssignee,
    PlanStatus,
    PracticeLog,
    WeeklyPlan,
)

Counts = Counter[tuple[uuid.UUID, LogStatus]]


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_today(timezone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def possible_current_weeks(now: datetime) -> tuple[date, date]:
    """The weeks that are "this week" somewhere at `now` (local dates run from a day behind
    UTC's to a day ahead): week_of(local_today(tz, now)) is one of them, whatever the zone."""
    today = now.astimezone(UTC).date()
    return week_of(today - timedelta(days=1)), week_of(today + timedelta(days=1))


@dataclass
class Tally:
    done: int
    target: int
    awaiting: int
    by_user: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)


def tally_item(
    mode: Mode, times_per_week: int, assignees: list[uuid.UUID], counts: Counts
) -> Tally:
    """Progress of one item from its log counts per (author, status)."""
    awaiting = sum(n for (_, status), n in counts.items() if status == LogStatus.awaiting_partner)
    if mode == Mode.joint:
        raw = sum(n for (_, status), n in counts.items() if status == LogStatus.done)
        done = min(raw, times_per_week)
        by_user = {user: (done, times_per_week) for user in assignees}
        return Tally(done, times_per_week, awaiting, by_user)
    by_user = {
        user: (min(counts.get((user, LogStatus.done), 0), times_per_week), times_per_week)
        for user in assignees
    }
    done = sum(d for d, _ in by_user.values())
    return Tally(done, times_per_week * len(assignees), awaiting, by_user)


def item_progress_fields(tally: Tally) -> dict[str, Any]:
    """ItemProgress's fields, in its order (plans/plan_answer.py serializes them as they are)."""
    return {
        "done": tally.done,
        "target": tally.target,
        "awaiting_partner": tally.awaiting,
        "by_partner": [
            {"user_id": user, "done": done, "target": target}
            for user, (done, target) in tally.by_user.items()
        ],
    }


# --- loading ------------------------------------------------------------------------------


def active_partner_ids(session: Session, couple_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(Membership.user_id)
            .where(
                Membership.couple_id == couple_id,
                Membership.role == Role.partner,
                col(Membership.left_at).is_(None),
            )
            .order_by(col(Membership.joined_at))
        )
    )


def load_items(session: Session, plan_ids: Iterable[uuid.UUID]) -> list[tuple[PlanItem, Exercise]]:
    """The live (not archived) items of these plans, in order, with their exercises."""
    plan_ids = list(plan_ids)
    if not plan_ids:
        return []
    return list(
        session.exec(
            select(PlanItem, Exercise)
            .join(Exercise, col(Exercise.id) == PlanItem.exercise_id)
            .where(col(PlanItem.plan_id).in_(plan_ids), col(PlanItem.archived_at).is_(None))
            .order_by(col(PlanItem.position), col(PlanItem.created_at))
        ).all()
    )


def explicit_assignees(
    session: Session, item_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    item_ids = list(item_ids)
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if item_ids:
        for row in session.exec(
            select(PlanItemAssignee).where(col(PlanItemAssignee.plan_item_id).in_(item_ids))
        ):
            found[row.plan_item_id].append(row.user_id)
    return {k: sorted(v, key=str) for k, v in found.items()}


def assignees_of(
    item: PlanItem, explicit: dict[uuid.UUID, list[uuid.UUID]], partners: list[uuid.UUID]
) -> list[uuid.UUID]:
    if item.mode == Mode.joint:
        return list(partners)
    return explicit.get(item.id) or list(partners)


def log_counts(session: Session, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Counts]:
    item_ids = list(item_ids)
    counts: dict[uuid.UUID, Counts] = defaultdict(Counter)
    if not item_ids:
        return counts
    rows = session.exec(
        select(PracticeLog.plan_item_id, PracticeLog.logged_by, PracticeLog.status, func.count())
        .where(
            col(PracticeLog.plan_item_id).in_(item_ids),
            col(PracticeLog.status).in_([LogStatus.done, LogStatus.awaiting_partner]),
        )
        .group_by(
            col(PracticeLog.plan_item_id), col(PracticeLog.logged_by), col(PracticeLog.status)
        )
    )
    for item_id, user_id, status, n in rows:
        counts[item_id][(user_id, LogStatus(status))] = n
    return counts


def published_plan(session: Session, couple_id: uuid.UUID, week_start: date) -> WeeklyPlan | None:
    return session.exec(
        select(WeeklyPlan).where(
            WeeklyPlan.couple_id == couple_id,
            WeeklyPlan.week_start == week_start,
            WeeklyPlan.status == PlanStatus.published,
        )
    ).first()


# --- what other domains ask -----------------------------------------------------------------


def week_totals(session: Session, couple: Couple) -> tuple[int, int] | None:
    """(done, target) of the couple's published plan for this week, or None."""
    plan = published_plan(session, couple.id, week_of(local_today(couple.timezone)))
    if plan is None:
        return None
    items = load_items(session, [plan.id])
    item_ids = [i.id for i, _ in items]
    explicit = explicit_assignees(session, item_ids)
    partners = active_partner_ids(session, couple.id)
    counts = log_counts(session, item_ids)
    done = target = 0
    for item, _ in items:
        tally = tally_item(
            item.mode, item.times_per_week, assignees_of(item, explicit, partners), counts[item.id]
        )
        done += tally.done
        target += tally.target
    return done, target


def current_weeks(
    session: Session, couples: list[Couple], partners: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, list[tuple[PlanItem, Tally]]]:
    """Each couple's published plan for its current week (in its own time zone), item by item
    with its tally; a couple without one is absent. Four queries whatever the number of
    couples: a list of couples must not cost a query per couple."""
    weeks = {c.id: week_of(local_today(c.timezone)) for c in couples}
    if not weeks:
        return {}
    plans = {
        p.id: p.couple_id
        for p in session.exec(
            select(WeeklyPlan).where(
                col(WeeklyPlan.couple_id).in_(list(weeks)),
                col(WeeklyPlan.week_start).in_(set(weeks.values())),
                WeeklyPlan.status == PlanStatus.published,
            )
        )
        if weeks[p.couple_id] == p.week_start
    }
    items = load_items(session, plans)
    item_ids = [i.id for i, _ in items]
    explicit = explicit_assignees(session, item_ids)
    counts = log_counts(session, item_ids)
    found: dict[uuid.UUID, list[tuple[PlanItem, Tally]]] = {c: [] for c in plans.values()}
    for item, _ in items:
        couple_id = plans[item.plan_id]
        assignees = assignees_of(item, explicit, partners.get(couple_id, []))
        tally = tally_item(item.mode, item.times_per_week, assignees, counts[item.id])
        found[couple_id].append((item, tally))
    return found


def has_unfinished_work(session: Session, *, user_id: uuid.UUID, today: date) -> bool:
    rows = session.exec(
        select(WeeklyPlan)
        .join(Membership, col(Membership.couple_id) == WeeklyPlan.couple_id)
        .where(
            Membership.user_id == user_id,
            Membership.role == Role.partner,
            col(Membership.left_at).is_(None),
            WeeklyPlan.week_start == week_of(today),
            WeeklyPlan.status == PlanStatus.published,
        )
    ).all()
    for plan in rows:
        items = load_items(session, [plan.id])
        item_ids = [i.id for i, _ in items]
        explicit = explicit_assignees(session, item_ids)
        partners = active_partner_ids(session, plan.couple_id)
        counts = log_counts(session, item_ids)
        for item, _ in items:
            assignees = assignees_of(item, explicit, partners)
            if user_id not in assignees:
                continue
            tally = tally_item(item.mode, item.times_per_week, assignees, counts[item.id])
            done, target = tally.by_user[user_id]
            if done < target:
                return True
    return False


def adherence(session: Session, *, couple: Couple, weeks: int) -> AdherenceRead:
    """The last `weeks` weeks up to this one, newest first; a week without a published plan
    has nothing to do (0 of 0). Five queries whatever `weeks` is."""
    current = week_of(local_today(couple.timezone))
    starts = [current - timedelta(weeks=i) for i in range(weeks)]
    plans = {
        p.week_start: p
        for p in session.exec(
            select(WeeklyPlan).where(
                WeeklyPlan.couple_id == couple.id,
                WeeklyPlan.status == PlanStatus.published,
                col(WeeklyPlan.week_start) >= starts[-1],
                col(WeeklyPlan.week_start) <= current,
            )
        )
    }
    items = load_items(session, [p.id for p in plans.values()])
    item_ids = [i.id for i, _ in items]
    explicit = explicit_assignees(session, item_ids)
    partners = active_partner_ids(session, couple.id)
    counts = log_counts(session, item_ids)
    by_plan: dict[uuid.UUID, list[tuple[PlanItem, Exercise]]] = defaultdict(list)
    for item, exercise in items:
        by_plan[item.plan_id].append((item, exercise))

    answer = []
    for start in starts:
        plan = plans.get(start)
        week = AdherenceWeek(
            week_start=start,
            plan_id=plan.id if plan else None,
            done=0,
            target=0,
            by_partner=[],
            items=[],
        )
        people: dict[uuid.UUID, list[int]] = {}
        for item, exercise in by_plan.get(plan.id, []) if plan else []:
            assignees = assignees_of(item, explicit, partners)
            tally = tally_item(item.mode, item.times_per_week, assignees, counts[item.id])
            week.done += tally.done
            week.target += tally.target
            week.items.append(
                ItemAdherence(
                    plan_item_id=item.id, title=exercise.title, done=tally.done, target=tally.target
                )
            )
            for user, (done, target) in tally.by_user.items():
                sums = people.setdefault(user, [0, 0])
                sums[0] += done
                sums[1] += target
        week.by_partner = [
            PartnerAdherence(user_id=user, done=d, target=t) for user, (d, t) in people.items()
        ]
        answer.append(week)
    return AdherenceRead(weeks=answer)


def week_done_and_target(
    session: Session, couples: list[Couple], partners: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each couple's progress this week, for its card (couples/hooks.py asks)."""
    return {
        couple_id: (sum(t.done for _, t in tallies), sum(t.target for _, t in tallies))
        for couple_id, tallies in current_weeks(session, couples, partners).items()
    }


def parse_week(value: str) -> date:
    """A week in a path: an ISO date that is a Monday, or 422."""
    day = parse_day(value, name="week_start")
    if day.weekday() != 0:
        raise Invalid("week_start must be a Monday")
    return day
