"""Session logs: a partner says an item was done; a joint one waits for the other partner.

Every state change is a conditional UPDATE (`... WHERE status = 'awaiting_partner'`) whose
row count says who won, and every client_id is claimed by a unique key (`INSERT ... ON
CONFLICT DO NOTHING`, then read back): two requests racing (confirm against withdraw, two
confirms, a replay arriving twice) end in one state on both databases, without reading and
then writing.

Logging is the busiest write (docs/BENCHMARKS.md, "Load"), so it follows api/plan_read.py:
statements built once, run on the driver's cursor (core/prepared.py). One query reads the
sign-in, the item, its plan, the couple's active members, the item's explicit assignees and an
earlier request with this client_id; the common case then writes the log and its claim (one
statement on PostgreSQL, two on SQLite) and commits. The use case is written once, as steps
(`_steps`): on SQLite they run on the event loop (core/loop_db.py); on PostgreSQL on the loop
too (`log_steps`, core/async_pg.py), but for what needs the keyring or lost a race, which runs
in one hop (`log_practice_json`). Answers to a log (confirm, dispute, withdraw) live in
plans/answers.py.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from tandem.accounts.models import Role, User
from tandem.core import crypto
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, NotFound
from tandem.core.prepared import BEGIN, Steps, run_steps
from tandem.core.security import AccessClaims
from tandem.core.transactions import ConnectionTx
from tandem.couples import access_rules as rules
from tandem.exercises.models import Mode
from tandem.plans import answers, progress
from tandem.plans import practice_log_sql as sql
from tandem.plans.models import (
    LogStatus,
    PlanStatus,
    PracticeLogCreate,
    PracticeLogRead,
)
from tandem.reminders import notices, outbox


@dataclass
class Logged:
    log: PracticeLogRead
    created: bool


@dataclass(frozen=True)
class _Reader:
    """Who replays, for the replayed log's dispute reason: it is opened as the plan read opens
    it for them (plans/plan_answer.py), when they were in the couple when it was said."""

    joined_at: datetime
    kek: bytes | None  # None: no reason is opened (the demo's seeding, a test)


def _replayed(row: Any, prefix: str, item_id: uuid.UUID) -> PracticeLogRead:
    log = sql.read_row(row, prefix)
    if log.plan_item_id != item_id:
        raise Conflict("This client_id was already used for another session")
    return log


def _reason_to_open(row: Any, prefix: str, reader: _Reader) -> bool:
    sealed = getattr(row, prefix + "sealed_dispute_reason")
    disputed_at = getattr(row, prefix + "disputed_at")
    return (
        reader.kek is not None
        and sealed is not None
        and answers.reason_readable(reader.joined_at, disputed_at)
    )


def _replay_answer(
    tx: ConnectionTx, row: Any, prefix: str, item_id: uuid.UUID, reader: _Reader
) -> Logged:
    log = _replayed(row, prefix, item_id)
    if _reason_to_open(row, prefix, reader):
        assert reader.kek is not None  # _reason_to_open
        log.dispute_reason = answers.open_reason(
            crypto.Keyring(tx.session(), reader.kek),
            log_id=log.id,
            sealed=getattr(row, prefix + "sealed_dispute_reason"),
            disputed_by=log.disputed_by,
        )
    return Logged(log, created=False)


@dataclass(frozen=True)
class _Again:
    """The steps stop, and what they wrote is undone: the answer is what this client_id's
    earlier request did, read again as `reader` (_lost_race). A race lost a moment ago, or a
    replay whose dispute reason is opened with the keyring (not one of the steps)."""

    reader: _Reader


def log_practice_json(
    connection: Connection,
    *,
    claims: AccessClaims,
    item_id: str,
    data: PracticeLogCreate,
    kek: bytes,
) -> tuple[int, bytes]:
    """The route's whole use case, authentication included: (status code, JSON body).
    201: a new log; 200: a replay of this client_id, or a confirmation of the partner's
    waiting log."""
    logged = _log(
        ConnectionTx(connection),
        user_id=claims.user_id,
        sign_in_id=claims.sign_in_id,
        item_id=_item_of(item_id),
        data=data,
        kek=kek,
    )
    return _answer(logged)


def _answer(logged: Logged) -> tuple[int, bytes]:
    return (201 if logged.created else 200), logged.log.model_dump_json().encode()


def log_steps(
    *, claims: AccessClaims, item_id: str, data: PracticeLogCreate, kek: bytes
) -> Steps[tuple[int, bytes] | None]:
    """log_practice_json as core/prepared.py's steps, for core/async_pg.py (PostgreSQL): the
    same steps, on the loop. None: log_practice_json does it (the driver rolled back)."""
    logged = yield from _steps(
        user_id=claims.user_id,
        sign_in_id=claims.sign_in_id,
        item_id=_item_of(item_id),
        data=data,
        kek=kek,
        dialect="postgresql",
    )
    return None if isinstance(logged, _Again) else _answer(logged)


def _item_of(item_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(item_id)
    except ValueError:
        return None  # 404, once the caller is known to be signed in


def _context_params(
    user_id: uuid.UUID,
    sign_in_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    data: PracticeLogCreate,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "sign_in_id": sign_in_id,
        "item_id": item_id,
        "client_id": data.client_id,
    }


def log_practice(
    session: Session, *, user: User, item_id: uuid.UUID, data: PracticeLogCreate
) -> Logged:
    """Log a session as `user` (already authenticated: the demo's seeding)."""
    session.flush()  # Core statements below do not autoflush
    return _log(
        ConnectionTx(session.connection(), session),
        user_id=user.id,
        sign_in_id=None,
        item_id=item_id,
        data=data,
        kek=None,
    )


@dataclass(frozen=True)
class _Checked:
    """What the checks found: the context's first row, who reads a replayed reason, the
    couple's partners and the item's mode."""

    first: Any
    reader: _Reader
    partners: list[uuid.UUID]
    mode: Mode


@dataclass(frozen=True, slots=True)
class _Joint:
    """What JOINT_CONTEXT found for a joint log: the other partner, their quiet hours (reminders/
    clock.py's QuietHours, for their notice), and their logs of this day that wait."""

    other_id: uuid.UUID
    quiet: "_Quiet | None"
    waiting: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class _Quiet:  # reminders/clock.py's QuietHours
    quiet_start: str | None
    quiet_end: str | None
    timezone: str


def _joint_params(
    checked: _Checked, *, user_id: uuid.UUID, item_id: uuid.UUID, done_on: date
) -> dict[str, Any]:
    other_id = next(p for p in checked.partners if p != user_id)  # _day: two partners
    return {"other_id": other_id, "item_id": item_id, "done_on": done_on, "user_id": user_id}


def _joint(params: dict[str, Any], rows: list[Any]) -> _Joint:
    first = rows[0]  # one row at least (JOINT_CONTEXT's outer joins)
    quiet = None
    if first.timezone is not None:
        quiet = _Quiet(first.quiet_start, first.quiet_end, first.timezone)
    waiting = [r.waiting_id for r in rows if r.waiting_id is not None]
    return _Joint(params["other_id"], quiet, waiting)


def _checked(
    rows: list[Any],
    *,
    user_id: uuid.UUID,
    sign_in_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    kek: bytes | None,
) -> _Checked:
    """Who may log this item, from CONTEXT's rows: 401, 404, 403 in that order."""
    if sign_in_id is not None:
        rules.require_signed_in(rows[0] if rows else None)
    if not rows or item_id is None or rows[0].mode is None:
        raise NotFound()
    first = rows[0]
    me = rules.own_membership(rows, user_id, "member_id")
    if me is None:
        raise NotFound()
    if me.role != Role.partner:
        raise Forbidden("Only the couple's partners log sessions")
    if first.plan_status != PlanStatus.published or first.archived_at is not None:
        raise NotFound()
    partners = rules.partner_ids(rows, "member_id")
    mode = Mode(first.mode)
    if mode == Mode.joint:
        assignees = partners
    else:
        explicit = {r.assignee_id for r in rows if r.assignee_id is not None}
        assignees = list(explicit) or partners
    if user_id not in assignees:
        raise Forbidden("This exercise is assigned to your partner")
    return _Checked(first, _Reader(me.member_joined_at, kek), partners, mode)


def _day(checked: _Checked, data: PracticeLogCreate) -> date:
    """The day the session was done (today where the person is, if not said): 422 outside
    the plan's week or in the future; 409 for a joint item with nobody left to confirm it."""
    first = checked.first
    today = progress.local_today(first.timezone)
    done_on = data.done_on or today
    if done_on > today:
        raise Invalid("done_on is in the future")
    week_end = first.week_start + timedelta(days=6)
    if not first.week_start <= done_on <= week_end:
        raise Invalid(
            f"done_on must fall within the plan's week ({first.week_start} to {week_end})"
        )
    if checked.mode == Mode.joint and len(checked.partners) < 2:
        # Nobody could ever confirm it: it would wait forever.
        raise Conflict(
            "This exercise is for the two of you, and you are the only partner in your couple now"
        )
    return done_on


def _new_log(
    checked: _Checked,
    *,
    user_id: uuid.UUID,
    item_id: uuid.UUID,
    data: PracticeLogCreate,
    done_on: date,
    now: datetime,
) -> PracticeLogRead:
    return PracticeLogRead(
        id=uuid.uuid4(),
        plan_item_id=item_id,
        logged_by=user_id,
        done_on=done_on,
        status=LogStatus.awaiting_partner if checked.mode == Mode.joint else LogStatus.done,
        confirmed_by=None,
        disputed_by=None,
        client_id=data.client_id,
        created_at=now,
        withdrawn_reason=None,
    )


def _log(
    tx: ConnectionTx,
    *,
    user_id: uuid.UUID,
    sign_in_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    data: PracticeLogCreate,
    kek: bytes | None,
) -> Logged:
    connection = tx.connection
    if not connection.in_transaction():
        # The transaction first (on SQLite, BEGIN IMMEDIATE: the write lock), then the checks'
        # read: CONTEXT runs on the driver's cursor, which SQLAlchemy's autobegin does not see.
        connection.begin()
    steps = _steps(
        user_id=user_id,
        sign_in_id=sign_in_id,
        item_id=item_id,
        data=data,
        kek=kek,
        dialect=connection.dialect.name,
    )
    logged = run_steps(connection, steps)
    if isinstance(logged, _Again):
        assert item_id is not None  # _checked refuses a malformed id
        return _lost_race(
            tx, user_id=user_id, client_id=data.client_id, item_id=item_id, reader=logged.reader
        )
    tx.commit()
    return logged


def _steps(
    *,
    user_id: uuid.UUID,
    sign_in_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    data: PracticeLogCreate,
    kek: bytes | None,
    dialect: str,
) -> Steps["Logged | _Again"]:
    """The use case once, for every driver: the checks on CONTEXT's rows, a replay, the
    confirmation of the other partner's waiting log, or a new log (with its notice, for a joint
    one). More than one statement that writes runs in a transaction (BEGIN); a new log on
    PostgreSQL is one statement, all or nothing by itself, so it needs none. The caller commits
    an answer; _Again: it rolls back and answers the earlier request."""
    rows = yield sql.CONTEXT, _context_params(user_id, sign_in_id, item_id, data)
    checked = _checked(rows, user_id=user_id, sign_in_id=sign_in_id, item_id=item_id, kek=kek)
    first, reader = checked.first, checked.reader
    assert item_id is not None  # _checked refuses a malformed id

    # Replays first: a queued request may arrive after its week is over.
    if first.replay_id is not None:
        if _reason_to_open(first, "replay_", reader):
            return _Again(reader)
        return Logged(_replayed(first, "replay_", item_id), created=False)

    done_on = _day(checked, data)
    now = utcnow()
    joint = None
    if checked.mode == Mode.joint:
        params = _joint_params(checked, user_id=user_id, item_id=item_id, done_on=done_on)
        joint = _joint(params, (yield sql.JOINT_CONTEXT, params))
        if joint.waiting:
            yield BEGIN, {}
        # The other partner logged this item for this day and waits: logging it too confirms
        # their log (none confirmed: another request confirmed or withdrew it first).
        for log_id in joint.waiting:
            confirmed = yield sql.CONFIRM, {"log_id": log_id, "confirmed_by": user_id, "now": now}
            if confirmed:
                log = sql.read_row(confirmed[0])
                claim = {"user_id": user_id, "client_id": data.client_id, "id": log.id}
                if not (yield from _claim_request(dialect, claim | {"created_at": now})):
                    return _Again(reader)
                yield outbox.INSERT_EVENT[dialect], _notice(joint, log=log, confirmed=True, now=now)
                return Logged(log, created=False)

    log = _new_log(checked, user_id=user_id, item_id=item_id, data=data, done_on=done_on, now=now)
    notice = None if joint is None else _notice(joint, log=log, confirmed=False, now=now)
    if not (yield from _insert_new(dialect, log, notice)):  # the client_id won a race
        return _Again(reader)
    return Logged(log, created=True)


def _lost_race(
    tx: ConnectionTx,
    *,
    user_id: uuid.UUID,
    client_id: uuid.UUID,
    item_id: uuid.UUID,
    reader: "_Reader | None" = None,
) -> Logged:
    """Undo everything and answer what the request with this client_id did: committed a
    moment ago (a race lost), or earlier (a replay whose reason is opened with the keyring)."""
    tx.rollback()
    row = tx.connection.execute(sql.REPLAYED, {"user_id": user_id, "client_id": client_id}).first()
    if row is None:  # pragma: no cover - the conflicting row was committed
        raise Conflict("This session changed at the same moment; try again")
    return _replay_answer(tx, row, "", item_id, reader or _Reader(row.created_at, None))


def _insert_new(
    dialect: str, log: PracticeLogRead, notice: dict[str, Any] | None = None
) -> Steps[bool]:
    """Write a new log, claim its client_id for its author and write its notice (a joint
    log's): False when the client_id was taken a moment ago (the caller undoes the rest)."""
    params = dict(log)
    if dialect == "postgresql":  # one statement, all or nothing by itself
        if notice is None:
            return bool((yield sql.INSERT_LOG_AND_REQUEST, params))
        asked = {f"notice_{key}": value for key, value in notice.items()}
        return bool((yield sql.INSERT_LOG_REQUEST_AND_NOTICE, params | asked))
    yield BEGIN, {}
    if not (yield sql.INSERT_LOG, params):
        return False
    if not (yield sql.INSERT_REQUEST[dialect], params | {"user_id": log.logged_by}):
        return False
    if notice is not None:
        yield outbox.INSERT_EVENT[dialect], notice
    return True


def _claim_request(dialect: str, claim: dict[str, Any]) -> Steps[bool]:
    """Claim the client_id for a log this request confirmed: False when it was taken."""
    return bool((yield sql.INSERT_REQUEST[dialect], claim))


def _notice(
    joint: _Joint, *, log: PracticeLogRead, confirmed: bool, now: datetime
) -> dict[str, Any]:
    """The outbox row a joint log writes for the other partner, with the quiet hours JOINT_CONTEXT
    read (as outbox.enqueue_event would write it, without an ORM session): a confirmation
    tells the waiting log's author, a new log waiting asks the other partner to confirm."""
    if confirmed:
        # The author of a waiting log is the other partner (JOINT_CONTEXT: leaving closes them).
        event = notices.practice_confirmed(practice_log_id=log.id, notify_user_id=log.logged_by)
    else:
        event = notices.joint_practice_logged(practice_log_id=log.id, notify_user_id=joint.other_id)
    quiet = joint.quiet if event.user_id == joint.other_id else None
    return event.row(now, quiet)
