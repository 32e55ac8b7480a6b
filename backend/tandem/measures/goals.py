"""Goal Attainment Scaling: goals with five levels described in words, rated over time.

A goal belongs to one partner or to the couple (no owner). A partner's own goal is seen by
that partner and the therapist only; the couple's goals by every member. The therapist rates
any goal; a partner rates their own goals and the couple's.
"""

import uuid
from collections import defaultdict

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from tandem.accounts.models import Role, User
from tandem.core.db import utcnow
from tandem.core.errors import Invalid, NotFound
from tandem.couples import service as couples
from tandem.couples.models import Membership
from tandem.measures import scoring
from tandem.measures.models import (
    Goal,
    GoalAttainmentRead,
    GoalBody,
    GoalRating,
    GoalRatingRead,
    GoalRead,
    RatingBody,
)


def _visible(membership: Membership) -> ColumnElement[bool]:
    if membership.role == Role.therapist:
        return col(Goal.couple_id) == membership.couple_id
    return (col(Goal.couple_id) == membership.couple_id) & or_(
        col(Goal.owner_id).is_(None), col(Goal.owner_id) == membership.user_id
    )


def _ratings(session: Session, goal_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[GoalRating]]:
    found: dict[uuid.UUID, list[GoalRating]] = defaultdict(list)
    if goal_ids:
        for rating in session.exec(
            select(GoalRating)
            .where(col(GoalRating.goal_id).in_(goal_ids))
            .order_by(col(GoalRating.rated_at))
        ):
            found[rating.goal_id].append(rating)
    return found


def _read(goal: Goal, ratings: list[GoalRating]) -> GoalRead:
    return GoalRead(
        id=goal.id,
        couple_id=goal.couple_id,
        title=goal.title,
        levels=goal.levels,
        owner_id=goal.owner_id,
        weight=goal.weight,
        ratings=[GoalRatingRead.model_validate(r) for r in ratings],
        created_at=goal.created_at,
    )


def create(session: Session, *, membership: Membership, data: GoalBody) -> GoalRead:
    if data.owner_id is not None and data.owner_id not in couples.partner_ids(
        session, membership.couple_id
    ):
        raise Invalid("A goal belongs to one of this couple's partners, or to the couple.")
    goal = Goal(
        couple_id=membership.couple_id,
        title=data.title,
        levels=data.levels,
        owner_id=data.owner_id,
        weight=data.weight,
        created_by=membership.user_id,
    )
    session.add(goal)
    session.commit()
    return _read(goal, [])


def list_goals(session: Session, *, membership: Membership) -> list[GoalRead]:
    """Newest first; each goal's ratings oldest first (a trend reads left to right)."""
    goals = session.exec(
        select(Goal).where(_visible(membership)).order_by(col(Goal.created_at).desc())
    ).all()
    ratings = _ratings(session, [g.id for g in goals])
    return [_read(goal, ratings[goal.id]) for goal in goals]


def of_couple(session: Session, *, couple_id: uuid.UUID) -> list[GoalRead]:
    """Every goal of a couple, as their therapist sees them (newest first)."""
    goals = session.exec(
        select(Goal).where(Goal.couple_id == couple_id).order_by(col(Goal.created_at).desc())
    ).all()
    ratings = _ratings(session, [g.id for g in goals])
    return [_read(goal, ratings[goal.id]) for goal in goals]


def t_score(goals: list[GoalRead]) -> GoalAttainmentRead:
    rated = [g for g in goals if g.ratings]
    return GoalAttainmentRead(
        t_score=scoring.gas_t_score(
            [g.ratings[-1].level for g in rated], [g.weight for g in rated]
        ),
        goals=len(goals),
        rated=len(rated),
    )


def rate(session: Session, *, user: User, goal_id: uuid.UUID, data: RatingBody) -> GoalRead:
    goal = session.get(Goal, goal_id)
    if goal is None:
        raise NotFound()
    membership = couples.active_membership(session, user_id=user.id, couple_id=goal.couple_id)
    if membership is None:
        raise NotFound()
    if membership.role != Role.therapist and goal.owner_id not in (None, user.id):
        # The other partner's own goal: not even its existence is shown.
        raise NotFound()
    session.add(GoalRating(goal_id=goal.id, level=data.level, rated_by=user.id, rated_at=utcnow()))
    session.commit()
    return _read(goal, _ratings(session, [goal.id])[goal.id])


def attainment(session: Session, *, membership: Membership) -> GoalAttainmentRead:
    return t_score(list_goals(session, membership=membership))
