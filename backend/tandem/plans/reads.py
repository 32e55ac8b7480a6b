"""The plan read, made for the path every partner's phone takes: one thread hop, two queries.

The route with dependencies and a response model cost six threadpool hops; under load that
cost the read most of its throughput (docs/BENCHMARKS.md, "Load"). Here the authentication and
membership checks (one query), then the plan (plans/plan_answer.py, the one builder the service
uses too) are read on one connection on one worker thread, as plain rows from statements built
once, and the answer is serialized once by pydantic. The rules are the same as the
dependencies' (tests/test_plan_reads.py holds both paths to the same answers).
"""

import uuid

from sqlalchemy import and_, bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.accounts import service as accounts
from tandem.accounts.models import Role, SignIn, User
from tandem.core import audit
from tandem.core.errors import NotFound, Unauthorized
from tandem.core.security import AccessClaims
from tandem.couples.models import Couple, Membership
from tandem.plans import plan_answer, progress

# Built once: constructing a statement costs more CPU than SQLite takes to run it.
# 1. The sign-in session (as deps.current_user) and the couple's active members with its time
#    zone (as deps.couple_member), in one query: no row means signed out.
_ACCESS = (
    select(
        SignIn.revoked_at,
        SignIn.last_used_at,
        SignIn.idle_seconds,
        SignIn.expires_at,
        Membership.user_id,
        Membership.role,
        Membership.joined_at,
        Couple.timezone,
    )
    .select_from(SignIn)
    .join(User, and_(col(User.id) == SignIn.user_id, col(User.deleted_at).is_(None)))
    .outerjoin(
        Membership,
        and_(
            Membership.couple_id == bindparam("couple_id"),
            col(Membership.left_at).is_(None),
        ),
    )
    .outerjoin(Couple, col(Couple.id) == Membership.couple_id)
    .where(SignIn.id == bindparam("sign_in_id"), User.id == bindparam("user_id"))
    .order_by(col(Membership.joined_at))
)


def plan_json(
    engine: Engine,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
) -> bytes:
    """The caller's view of a couple's plan (the current week's when `week_start` is None)."""
    with engine.connect() as connection:
        try:
            couple: uuid.UUID | None = uuid.UUID(couple_id)
        except ValueError:
            couple = None  # 404, once the caller is known to be signed in
        rows = connection.execute(
            _ACCESS,
            {"sign_in_id": claims.sign_in_id, "user_id": claims.user_id, "couple_id": couple},
        ).all()
        if not rows or not accounts.sign_in_alive(rows[0]):
            raise Unauthorized("Signed out")
        me = next((r for r in rows if r.user_id == claims.user_id), None)
        if couple is None or me is None:
            raise NotFound()
        role = me.role
        if week_start is None:
            week = progress.week_of(progress.local_today(rows[0].timezone))
        else:
            week = progress.parse_week(week_start)
        plan, authors = plan_answer.build(
            connection,
            couple_id=couple,
            week=week,
            role=role,
            partners=[r.user_id for r in rows if r.role == Role.partner],
            joined_at=me.joined_at,
            kek=kek,
        )
        answer = plan.model_dump_json().encode()
    if role == Role.therapist and authors:
        with Session(engine) as session:
            audit.record_reads(
                session,
                action="dispute_reason.read_by_therapist",
                reader_id=claims.user_id,
                couple_id=couple,
                author_ids=authors,
            )
    return answer
