"""The plan read, made for the path every partner's phone takes: one thread hop, two queries.

The route with dependencies and a response model cost six threadpool hops; under load that
cost the read most of its throughput (docs/BENCHMARKS.md, "Load"). Here who is asking and their
membership (access.couple_access, one query), then the plan (plans/plan_answer.py, the one
builder the service uses too, one query) are read on one connection on one worker thread, as
plain rows from statements built once, and the answer is serialized once by pydantic.
"""

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tandem.accounts.models import Role
from tandem.api.access import couple_access
from tandem.core import audit
from tandem.core.security import AccessClaims
from tandem.plans import plan_answer, progress


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
        me = couple_access(connection, claims=claims, couple_id=couple_id)
        if week_start is None:
            week = progress.week_of(progress.local_today(me.timezone))
        else:
            week = progress.parse_week(week_start)
        plan, authors = plan_answer.build(
            connection,
            couple_id=me.couple_id,
            week=week,
            role=me.role,
            partners=me.partner_ids,
            joined_at=me.joined_at,
            kek=kek,
        )
        answer = plan.model_dump_json().encode()
    if me.role == Role.therapist and authors:
        with Session(engine) as session:
            audit.record_reads(
                session,
                action="dispute_reason.read_by_therapist",
                reader_id=claims.user_id,
                couple_id=me.couple_id,
                author_ids=authors,
            )
    return answer
