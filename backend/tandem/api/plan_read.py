"""The plan read, made for the path every partner's phone takes: two queries, no thread hop on
SQLite.

The route with dependencies and a response model cost six threadpool hops; under load that
cost the read most of its throughput (docs/BENCHMARKS.md, "Load"). Here who is asking and their
membership (access.couple_access, one query), then the plan (plans/plan_answer.py, the one
builder the service uses too, one query) are read on one connection, as plain rows from
statements built once (core/prepared.py's steps, which an async driver can run too), and the
answer's fields are serialized as they are, by orjson as pydantic would. On a SQLite file this
runs on the event loop (core/loop_db.py); on PostgreSQL on the loop too, in one statement
(ACCESS_AND_PLAN), on psycopg's async connections in autocommit (core/async_pg.py). Opening
dispute reasons (rare: a plan with a disputed log its reader may read) needs the keyring, read
through an ORM session: on PostgreSQL that part alone runs in one hop. A therapist's reading of
them is then logged in a write of its own.
"""

import functools
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from tandem.accounts.models import Role
from tandem.api import access
from tandem.api.access import CoupleAccess
from tandem.core import async_pg, audit, loop_db
from tandem.core.db import table_of, utcnow
from tandem.core.errors import Invalid
from tandem.core.prepared import Prepared, Steps, run_steps
from tandem.core.security import AccessClaims
from tandem.couples.models import Membership
from tandem.plans import plan_answer, progress
from tandem.plans.models import WeeklyPlan


@dataclass(frozen=True)
class OpenedReasons:
    """Dispute reasons a therapist's read opened: the read is logged (core/audit.py)."""

    reader_id: uuid.UUID
    couple_id: uuid.UUID
    author_ids: set[uuid.UUID]


# Who is asking, their couple's active members and the plan, in one statement, for a database
# a network away (PostgreSQL: a round trip less, and one statement's planning and execution;
# on SQLite the two statements below cost less than this wider one). The access rules' pieces
# (api/access.py) with the plan's (plans/plan_answer.py) joined to the caller's own membership
# row, for the weeks that may be "this week" wherever the couple lives (its time zone is known
# only from the row): the rows are then checked as COUPLE_ACCESS's, and the plan read from the
# caller's rows of the couple's week.
ACCESS_AND_PLAN = Prepared(
    select(*access.ACCESS_COLUMNS, *plan_answer.COLUMNS)
    .select_from(
        plan_answer.joined(
            access.ACCESS_FROM.outerjoin(
                table_of(WeeklyPlan),
                and_(
                    col(WeeklyPlan.couple_id) == Membership.couple_id,
                    col(Membership.user_id) == bindparam("user_id"),
                    or_(
                        col(WeeklyPlan.week_start) == bindparam("week_a"),
                        col(WeeklyPlan.week_start) == bindparam("week_b"),
                    ),
                ),
            )
        )
    )
    .where(access.ACCESS_WHERE)
    .order_by(access.ACCESS_ORDER, *plan_answer.ORDER)
)


def plan_steps(
    *, claims: AccessClaims, couple_id: str, week_start: str | None, one_statement: bool = False
) -> Steps[tuple[CoupleAccess, plan_answer.Built]]:
    """Who is asking and their membership, then the plan as they see it, its reasons still
    sealed (the current week's when `week_start` is None), for any driver: in two statements
    (access.COUPLE_ACCESS, then plan_answer.PLAN), or `one_statement` (ACCESS_AND_PLAN). The
    same rules read the same rows either way (tests/test_plan_reads.py runs both)."""
    couple = access.couple_of(couple_id)
    now = utcnow()  # one instant for the weeks asked for and the week then chosen
    if not one_statement:
        me = access.access_from_rows(
            (yield access.COUPLE_ACCESS, access.access_params(claims, couple)), claims, couple
        )
        week = _week(me, week_start, now)
        built = yield from plan_answer.steps(
            couple_id=me.couple_id, week=week, role=me.role, partners=me.partner_ids
        )
        return me, built
    weeks: tuple[date | None, date | None] = (None, None)
    if week_start is None:
        weeks = progress.possible_current_weeks(now)
    else:
        with suppress(Invalid):  # answered once the caller is known to belong to the couple
            weeks = (progress.parse_week(week_start),) * 2
    params = access.access_params(claims, couple) | {"week_a": weeks[0], "week_b": weeks[1]}
    rows = yield ACCESS_AND_PLAN, params
    me = access.access_from_rows(rows, claims, couple)
    week = _week(me, week_start, now)
    mine = [r for r in rows if r.user_id == me.user_id and r.week_start == week]
    built = plan_answer.from_rows(mine, me.couple_id, week, me.role, me.partner_ids)
    return me, built


def _week(me: CoupleAccess, week_start: str | None, now: datetime) -> date:
    if week_start is None:
        return progress.week_of(progress.local_today(me.timezone, now))
    return progress.parse_week(week_start)


def plan_json(
    connection: Connection,
    *,
    claims: AccessClaims,
    couple_id: str,
    week_start: str | None,
    kek: bytes,
    one_statement: bool = False,
) -> tuple[bytes, OpenedReasons | None]:
    """The caller's view of a couple's plan, and the reasons to log as read, if any."""
    steps = plan_steps(
        claims=claims, couple_id=couple_id, week_start=week_start, one_statement=one_statement
    )
    me, built = run_steps(connection, steps)
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
    """plan_json's answer, its statement on the loop (PostgreSQL: core/async_pg.py), in one
    round trip (`one_statement`)."""
    me, built = await async_pg.run_steps(
        engine,
        functools.partial(
            plan_steps,
            claims=claims,
            couple_id=couple_id,
            week_start=week_start,
            one_statement=True,
        ),
    )
    if not built.reasons_to_open(me.joined_at):
        return built.json(), None
    # The keyring is read through an ORM session, in one hop (loop_db's threaded read). In
    # autocommit each statement sees its own snapshot anyway: as plan_json on one connection.
    authors = await loop_db.run_read(
        engine, _open_reasons, built=built, kek=kek, joined_at=me.joined_at
    )
    return built.json(), _opened(claims, me, authors)
