"""The plan read, made for the path every partner's phone takes: two queries, no thread hop on
SQLite.

The route with dependencies and a response model cost six threadpool hops; under load that
cost the read most of its throughput (docs/BENCHMARKS.md, "Load"). Here who is asking and their
membership (access.couple_access, one query), then the plan (plans/plan_answer.py, the one
builder the service uses too, one query) are read on one connection, as plain rows from
statements built once (core/prepared.py's steps, which an async driver can run too), and the
answer's fields are serialized as they are, by pydantic's serializer. On a SQLite file this
runs on the event loop (core/loop_db.py); on PostgreSQL on the loop too, on psycopg's async
connections in autocommit (core/async_pg.py). Opening dispute reasons (rare: a plan with a
disputed log its reader may read) needs the keyring, read through an ORM session: on PostgreSQL
that part alone runs in one hop. A therapist's reading of them is then logged in a write of its
own.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from tandem.accounts.models import Role
from tandem.api.access import CoupleAccess, couple_access
from tandem.core import async_pg, audit, loop_db
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
    return built.json(), _opened(claims, me, authors)


def _opened(
    claims: AccessClaims, me: CoupleAccess, authors: set[uuid.UUID]
) -> OpenedReasons | None:
    if me.role == Role.therapist and authors:
        return OpenedReasons(claims.user_id, me.couple_id, authors)
    return None


def _open_reasons(
    connection: Connection, *, built: plan_answer.Built, kek: bytes, joined_at: datetime
) -> set[uuid.UUID]:
    return built.open_reasons(connection, kek, joined_at)


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
    if async_pg.serves(engine):
        body, opened = await _read_on_loop(
            engine, claims=claims, couple_id=couple_id, week_start=week_start, kek=kek
        )
    else:
        body, opened = await loop_db.run_read(
            engine, plan_json, claims=claims, couple_id=couple_id, week_start=week_start, kek=kek
        )
    if opened is not None:
        await run_in_threadpool(record_reads, engine, opened)
    return body


async def _read_on_loop(
    engine: Engine,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
) -> tuple[bytes, OpenedReasons | None]:
    """plan_json's answer, its statements on the loop (PostgreSQL: core/async_pg.py)."""
    me, built = await async_pg.run_steps(
        engine,
        functools.partial(plan_steps, claims=claims, couple_id=couple_id, week_start=week_start),
    )
    if not built.reasons_to_open(me.joined_at):
        return built.json(), None
    # The keyring is read through an ORM session, in one hop (loop_db's threaded read). In
    # autocommit each statement sees its own snapshot anyway: as plan_json on one connection.
    authors = await loop_db.run_read(
        engine, _open_reasons, built=built, kek=kek, joined_at=me.joined_at
    )
    return built.json(), _opened(claims, me, authors)
