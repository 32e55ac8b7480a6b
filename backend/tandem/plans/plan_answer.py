"""The plan answer, built in one place: a couple's plan for a week with its live items, their
assignees and progress, and their practice logs, as one reader sees it (the dispute reasons
said while they were there, opened with one keyring).

One statement built once reads it all (`steps`, driven on any connection); the fast read
(api/plan_read.py) runs it on its own connection and serializes the answer's fields as they
are, the service (plans/service.py, after a therapist's change) on its session's, as a PlanRead.
"""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session, col

from tandem.accounts.models import Role
from tandem.core import crypto
from tandem.core.db import table_of
from tandem.core.errors import NotFound
from tandem.core.prepared import Prepared, Steps, run_steps
from tandem.exercises.models import Category, Exercise, Mode
from tandem.plans import answers, progress
from tandem.plans.models import (
    LogStatus,
    PlanItem,
    PlanItemAssignee,
    PlanRead,
    PlanStatus,
    PracticeLog,
    WeeklyPlan,
    WithdrawnReason,
)

NO_PLAN = "No plan for this week"

# The plan's columns, its live items with their exercise, explicit assignees and practice
# logs: what `from_rows` reads from each row.
COLUMNS: tuple[Any, ...] = (
    col(WeeklyPlan.id),
    col(WeeklyPlan.week_start),
    col(WeeklyPlan.status),
    col(WeeklyPlan.note),
    col(WeeklyPlan.published_at),
    col(PlanItem.id).label("item_id"),
    col(PlanItem.exercise_id),
    col(PlanItem.mode),
    col(PlanItem.times_per_week),
    col(PlanItem.minutes),
    col(PlanItem.instructions),
    col(PlanItem.position),
    col(Exercise.title),
    col(Exercise.category),
    col(PlanItemAssignee.user_id).label("assignee_id"),
    col(PracticeLog.id).label("log_id"),
    col(PracticeLog.logged_by),
    col(PracticeLog.done_on),
    col(PracticeLog.status).label("log_status"),
    col(PracticeLog.confirmed_by),
    col(PracticeLog.disputed_by),
    col(PracticeLog.client_id),
    col(PracticeLog.created_at),
    col(PracticeLog.disputed_at),
    col(PracticeLog.sealed_dispute_reason),
    col(PracticeLog.withdrawn_reason),
)
# The order `from_rows` expects its rows in.
ORDER = (
    col(PlanItem.position),
    col(PlanItem.created_at),
    col(PlanItem.id),
    col(PracticeLog.created_at).desc(),
)


def joined(plans: Any) -> Any:
    """`plans` (a FROM clause with WeeklyPlan in it) with the plan's live items, their
    exercise, explicit assignees and practice logs joined: for this statement and for a hot
    read that embeds it (api/plan_read.py)."""
    return (
        plans.outerjoin(
            PlanItem,
            and_(col(PlanItem.plan_id) == WeeklyPlan.id, col(PlanItem.archived_at).is_(None)),
        )
        .outerjoin(Exercise, col(Exercise.id) == PlanItem.exercise_id)
        .outerjoin(PlanItemAssignee, col(PlanItemAssignee.plan_item_id) == PlanItem.id)
        .outerjoin(
            PracticeLog,
            and_(
                col(PracticeLog.plan_item_id) == PlanItem.id,
                # Withdrawn by their author: gone. Closed because someone left: kept, so the
                # partner left behind sees why nothing waits any more.
                or_(
                    col(PracticeLog.status) != LogStatus.withdrawn,
                    col(PracticeLog.withdrawn_reason).is_not(None),
                ),
            ),
        )
    )


# Built once and run on the driver's cursor (core/prepared.py): constructing and executing a
# statement through SQLAlchemy costs more CPU than SQLite takes to run it. SQLAlchemy's select:
# SQLModel's is typed for four columns at most.
PLAN = Prepared(
    select(*COLUMNS)
    .select_from(joined(table_of(WeeklyPlan)))
    .where(
        col(WeeklyPlan.couple_id) == bindparam("couple_id"),
        col(WeeklyPlan.week_start) == bindparam("week_start"),
    )
    .order_by(*ORDER)
)


@dataclass
class Built:
    """A plan as one reader sees it: `plan` holds PlanRead's fields in its order, as values
    pydantic serializes as it serializes the model (UUIDs, dates, enums), so `json()` gives
    PlanRead's JSON without building and validating a model per log (tests/test_plan_reads.py
    holds the two byte for byte). The dispute reasons are opened apart (`open_reasons`): they
    need the keyring, read through an ORM session."""

    plan: dict[str, Any]
    reasons: "_Reasons"

    def json(self) -> bytes:
        # orjson writes these values as pydantic does (UTC as "Z", enums by value, UUIDs and
        # dates as text, non-ASCII as UTF-8): in a fifth of pydantic's inferring serializer's
        # time, the largest single cost left in building the answer.
        return orjson.dumps(self.plan, option=orjson.OPT_UTC_Z)

    def read(self) -> PlanRead:
        return PlanRead.model_validate(self.plan)

    def open_reasons(
        self,
        connection: Connection,
        kek: bytes,
        joined_at: datetime,
        session: Session | None = None,
    ) -> set[uuid.UUID]:
        """Opens the reasons this reader may read (in the plan); returns their authors (a
        therapist's reads are logged by the caller). `session`: the caller's, when it has
        one, for the keyring (none is opened then)."""
        self.reasons.open(connection, kek, joined_at, session)
        return self.reasons.authors

    def reasons_to_open(self, joined_at: datetime) -> bool:
        return bool(self.reasons.readable(joined_at))


def steps(
    *, couple_id: uuid.UUID, week: date, role: str, partners: list[uuid.UUID]
) -> Steps[Built]:
    """The plan as a member with `role` sees it, its reasons still sealed (core/prepared.py's
    steps: one statement)."""
    rows = yield PLAN, {"couple_id": couple_id, "week_start": week}
    return from_rows(rows, couple_id, week, role, partners)


def build(
    connection: Connection,
    *,
    couple_id: uuid.UUID,
    week: date,
    role: str,
    partners: list[uuid.UUID],
    joined_at: datetime,
    kek: bytes,
    session: Session | None = None,
) -> tuple[PlanRead, set[uuid.UUID]]:
    """The plan as a member with `role`, in the couple since `joined_at`, sees it; and the
    authors whose dispute reasons it opened (a therapist's reads are logged by the caller).
    `session`: the caller's, when it has one, for the keyring (none is opened then)."""
    built = run_steps(
        connection, steps(couple_id=couple_id, week=week, role=role, partners=partners)
    )
    authors = built.open_reasons(connection, kek, joined_at, session)
    return built.read(), authors


class _Reasons:
    """The dispute reasons of a plan's logs, opened only for a reader who was there when each
    was said (plans.answers.reason_readable), with one keyring for all of them."""

    def __init__(self) -> None:
        self.sealed: list[tuple[dict[str, Any], Row[Any]]] = []
        self.authors: set[uuid.UUID] = set()

    def add(self, read: dict[str, Any], row: Row[Any]) -> None:
        if row.sealed_dispute_reason is not None:
            self.sealed.append((read, row))

    def readable(self, joined_at: datetime) -> list[tuple[dict[str, Any], Row[Any]]]:
        return [
            (read, row)
            for read, row in self.sealed
            if answers.reason_readable(joined_at, row.disputed_at)
        ]

    def open(
        self, connection: Connection, kek: bytes, joined_at: datetime, session: Session | None
    ) -> None:
        readable = self.readable(joined_at)
        if not readable:
            return
        if session is None:
            with Session(bind=connection) as own:
                self._open(crypto.Keyring(own, kek), readable)
        else:
            self._open(crypto.Keyring(session, kek), readable)

    def _open(
        self, keyring: crypto.Keyring, readable: list[tuple[dict[str, Any], Row[Any]]]
    ) -> None:
        for read, row in readable:
            read["dispute_reason"] = reason = answers.open_reason(
                keyring,
                log_id=row.log_id,
                sealed=row.sealed_dispute_reason,
                disputed_by=row.disputed_by,
            )
            if reason is not None and row.disputed_by is not None:
                self.authors.add(row.disputed_by)


def from_rows(
    rows: list[Any], couple: uuid.UUID, week: date, role: str, partners: list[uuid.UUID]
) -> Built:
    """The plan from its rows (COLUMNS, in ORDER; none: no plan), as a member with `role`
    sees it."""
    # Partners never see drafts: a draft is as absent as no plan at all.
    if not rows or (role == Role.partner and rows[0].status != PlanStatus.published):
        raise NotFound(NO_PLAN)
    first = rows[0]
    items: dict[uuid.UUID, Row[Any]] = {}
    explicit: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    logs: dict[uuid.UUID, dict[uuid.UUID, Row[Any]]] = defaultdict(dict)
    for row in rows:
        if row.item_id is None:
            continue
        items.setdefault(row.item_id, row)
        if row.assignee_id is not None:
            explicit[row.item_id].add(row.assignee_id)
        if row.log_id is not None:
            logs[row.item_id].setdefault(row.log_id, row)  # one row per assignee: keep one
    answer = []
    reasons = _Reasons()
    for item_id, row in items.items():
        mode = Mode(row.mode)
        if mode == Mode.joint:
            assignees = list(partners)
        else:
            assignees = sorted(explicit[item_id], key=str) or list(partners)
        counts: progress.Counts = Counter(
            (log.logged_by, LogStatus(log.log_status)) for log in logs[item_id].values()
        )
        tally = progress.tally_item(mode, row.times_per_week, assignees, counts)
        sessions = []
        for log in logs[item_id].values():
            # PracticeLogRead's fields, in its order.
            read = {
                "id": log.log_id,
                "plan_item_id": item_id,
                "logged_by": log.logged_by,
                "done_on": log.done_on,
                "status": LogStatus(log.log_status),
                "confirmed_by": log.confirmed_by,
                "disputed_by": log.disputed_by,
                "client_id": log.client_id,
                "created_at": log.created_at,
                "dispute_reason": None,
                "withdrawn_reason": _withdrawn(log.withdrawn_reason),
            }
            reasons.add(read, log)
            sessions.append(read)
        # PlanItemRead's fields, in its order.
        answer.append(
            {
                "id": item_id,
                "exercise_id": row.exercise_id,
                "title": row.title,
                "category": Category(row.category),
                "mode": mode,
                "assignee_ids": assignees,
                "times_per_week": row.times_per_week,
                "minutes": row.minutes,
                "instructions": row.instructions,
                "position": row.position,
                "progress": progress.item_progress_fields(tally),
                "sessions": sessions,
            }
        )
    # PlanRead's fields, in its order.
    plan = {
        "id": first.id,
        "couple_id": couple,
        "week_start": week,
        "status": PlanStatus(first.status),
        "note": first.note,
        "published_at": first.published_at,
        "items": answer,
    }
    return Built(plan, reasons)


def _withdrawn(reason: str | None) -> WithdrawnReason | None:
    return None if reason is None else WithdrawnReason(reason)
