"""The plan read, made for the path every partner's phone takes: two queries, no thread hop on
SQLite.

The route with dependencies and a response model cost six threadpool hops; under load that
cost the read most of its throughput (docs/BENCHMARKS.md, "Load"). Here who is asking and their
membership (access.couple_access, one query), then the plan (plans/plan_answer.py, the one
builder the service uses too, one query) are read on one connection, as plain rows from
statements built once (core/prepared.py's steps, which an async driver can run too), and the
answer's fields are serialized as they are, by pydantic's serializer. On a SQLite file this
runs on the event loop (core/loop_db.py); on PostgreSQL in one threadpool hop, in autocommit.
A therapist's reading of dispute reasons is then logged in a write of its own.
"""

import uuid
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from tandem.accounts.models import Role
from tandem.api.access import CoupleAccess, couple_access
from tandem.core import audit, loop_db
from tandem.core.prepared import Steps, run_steps
from tandem.core.security import AccessClaims
from tandem.plans import plan_answer, progress


@dataclass(frozen=True)
class OpenedReasons:
    """Dispute reasons a therapist's read opened: the read is logged (core/audit.py)."""

    reader_id: uuid.UUID
    couple_id: uuid.UUID
    author_ids: set[uuid.UUID]


def plan_steps(
    *, claims: AccessClaims, couple_id: str, week_start: str | None
) -> Steps[tuple[CoupleAccess, plan_answer.Built]]:
    """Who is asking and their membership, then the plan as they see it, its reasons still
    sealed (the current week's when `week_start` is None): two statements, for any driver."""
    me = yield from couple_access(claims, couple_id)
    if week_start is None:
        week = progress.week_of(progress.local_today(me.timezone))
    else:
        week = progress.parse_week(week_start)
    built = yield from plan_answer.steps(
        couple_id=me.couple_id, week=week, role=me.role, partners=me.partner_ids
    )
    return me, built


def plan_json(
    connection: Connection,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
) -> tuple[bytes, OpenedReasons | None]:
    """The caller's view of a couple's plan, and the reasons to log as read, if any."""
    me, built = run_steps(
        connection, plan_steps(claims=claims, couple_id=couple_id, week_start=week_start)
    )
    authors = built.open_reasons(connection, kek, me.joined_at)
    opened = None
    if me.role == Role.therapist and authors:
        opened = OpenedReasons(claims.user_id, me.couple_id, authors)
    return built.json(), opened


def record_reads(engine: Engine, opened: OpenedReasons) -> None:
    with Session(engine) as session:
        audit.record_reads(
            session,
            action="dispute_reason.read_by_therapist",
            reader_id=opened.reader_id,
            couple_id=opened.couple_id,
            author_ids=opened.author_ids,
        )


async def read(
    engine: Engine,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
) -> bytes:
    """The answer's body; the therapist's reads are logged before it is given."""
    body, opened = await loop_db.run_read(
        engine, plan_json, claims=claims, couple_id=couple_id, week_start=week_start, kek=kek
    )
    if opened is not None:
        await run_in_threadpool(record_reads, engine, opened)
    return body
