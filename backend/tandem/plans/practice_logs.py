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
statement on PostgreSQL, two on SQLite) and commits. On SQLite this runs on the event loop
(core/loop_db.py); on PostgreSQL the common case (`log_steps`) runs on the loop outside a
transaction (core/async_pg.py), the rest in one hop, in a transaction. Answers to a log
(confirm, dispute, withdraw) live in plans/answers.py.
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
from tandem.core.prepared import BEGIN, Steps
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
    return (201 if logged.created else 200), logged.log.model_dump_json().encode()


def log_steps(
    *, claims: AccessClaims, item_id: str, data: PracticeLogCreate, kek: bytes
) -> Steps[tuple[int, bytes] | None]:
    """log_practice_json's common cases as core/prepared.py's steps, for core/async_pg.py
    (PostgreSQL): the same checks on the same query; a new log (with its notice, for a joint
    one) in one statement that is all or nothing by itself; a confirmation in a transaction
    (BEGIN: the driver commits on an answer, rolls back on None or an error); a replay again.
    None: log_practice_json does it (a replay whose reason needs the keyring, a lost race)."""
    item = _item_of(item_id)
    user_id = claims.user_id
    rows = yield sql.CONTEXT, _context_params(user_id, claims.sign_in_id, item, data)
    checked = _checked(rows, user_id=user_id, sign_in_id=claims.sign_in_id, item_id=item, kek=kek)
    assert item is not None  # _checked refuses a malformed id
    if checked.first.replay_id is not None:  # before the day's checks, as in _log
        if _reason_to_open(checked.first, "replay_", checked.reader):
            return None  # opened with the keyring, in log_practice_json
        return 200, _replayed(checked.first, "replay_", item).model_dump_json().encode()
    done_on = _day(checked, data)
    now = utcnow()
    joint = None
    if checked.mode == Mode.joint:
        params = _joint_params(checked, user_id=user_id, item_id=item, done_on=done_on)
        joint = _joint(params, (yield sql.JOINT_CONTEXT, params))
        if joint.waiting:
            yield BEGIN, {}
        for log_id in joint.waiting:
            confirmed = yield sql.CONFIRM, {"log_id": log_id, "confirmed_by": user_id, "now": now}
            if confirmed:
                log = sql.read_row(confirmed[0])
                claim = {"user_id": user_id, "client_id": data.client_id, "id": log.id}
                if not (yield sql.INSERT_REQUEST["postgresql"], claim | {"created_at": now}):
                    return None  # rolled back; _log answers what the winner did
                yield (
                    outbox.INSERT_EVENT["postgresql"],
                    _notice(joint, log=log, confirmed=True, now=now),
                )
                return 200, log.model_dump_json().encode()
    log = _new_log(checked, user_id=user_id, item_id=item, data=data, done_on=done_on, now=now)
    if joint is None:
        written = yield sql.INSERT_LOG_AND_REQUEST, dict(log)
    else:  # a joint log waits: the other partner is asked, in the same statement
        asked = _notice(joint, log=log, confirmed=False, now=now)
        notice = {f"notice_{key}": value for key, value in asked.items()}
        written = yield sql.INSERT_LOG_REQUEST_AND_NOTICE, dict(log) | notice
    if not written:
        return None
    return 201, log.model_dump_json().encode()


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
    rows = sql.CONTEXT.rows(connection, _context_params(user_id, sign_in_id, item_id, data))
    checked = _checked(rows, user_id=user_id, sign_in_id=sign_in_id, item_id=item_id, kek=kek)
    first, reader, mode = checked.first, checked.reader, checked.mode
    assert item_id is not None  # _checked refuses a malformed id

    # Replays first: a queued request may arrive after its week is over.
    if first.replay_id is not None:
        return _replay_answer(tx, first, "replay_", item_id, reader)

    done_on = _day(checked, data)
    now = utcnow()
    joint = None
    if mode == Mode.joint:
        params = _joint_params(checked, user_id=user_id, item_id=item_id, done_on=done_on)
        joint = _joint(params, sql.JOINT_CONTEXT.rows(connection, params))
        confirmed = _confirm_waiting(connection, joint, user_id=user_id, now=now)
        if confirmed is not None:
            claimed = _claim_request(
                connection, user_id=user_id, client_id=data.client_id, log_id=confirmed.id, now=now
            )
            if not claimed:
                return _lost_race(
                    tx, user_id=user_id, client_id=data.client_id, item_id=item_id, reader=reader
                )
            return _finish(tx, joint, log=confirmed, confirmed=True, now=now)

    log = _new_log(checked, user_id=user_id, item_id=item_id, data=data, done_on=done_on, now=now)
    if not _insert_new(connection, log):  # this client_id won a race a moment ago
        return _lost_race(
            tx, user_id=user_id, client_id=data.client_id, item_id=item_id, reader=reader
        )
    return _finish(tx, joint, log=log, confirmed=False, now=now)


def _confirm_waiting(
    connection: Connection, joint: _Joint, *, user_id: uuid.UUID, now: Any
) -> PracticeLogRead | None:
    """The other partner logged this joint item for this day and waits: logging it too
    confirms their log. Returns the log confirmed, if any (none: nobody waits, or another
    request confirmed them first)."""
    for log_id in joint.waiting:
        confirmed = sql.CONFIRM.rows(
            connection, {"log_id": log_id, "confirmed_by": user_id, "now": now}
        )
        if confirmed:
            return sql.read_row(confirmed[0])
    return None


def _lost_race(
    tx: ConnectionTx,
    *,
    user_id: uuid.UUID,
    client_id: uuid.UUID,
    item_id: uuid.UUID,
    reader: "_Reader | None" = None,
) -> Logged:
    """The same client_id was claimed by a request committed a moment ago: undo everything
    and answer what that request did."""
    tx.rollback()
    row = tx.connection.execute(sql.REPLAYED, {"user_id": user_id, "client_id": client_id}).first()
    if row is None:  # pragma: no cover - the conflicting row was committed
        raise Conflict("This session changed at the same moment; try again")
    return _replay_answer(tx, row, "", item_id, reader or _Reader(row.created_at, None))


def _insert_new(connection: Connection, log: PracticeLogRead) -> bool:
    """Write a new log and claim its client_id for its author: False when the client_id was
    taken a moment ago (nothing is written then)."""
    params = dict(log)
    if connection.dialect.name == "postgresql":
        return bool(sql.INSERT_LOG_AND_REQUEST.rows(connection, params))
    if not sql.INSERT_LOG.rows(connection, params):
        return False
    return bool(sql.INSERT_REQUEST["sqlite"].rows(connection, params | {"user_id": log.logged_by}))


def _claim_request(
    connection: Connection, *, user_id: uuid.UUID, client_id: uuid.UUID, log_id: uuid.UUID, now: Any
) -> bool:
    """Claim the client_id for a log confirmed by this request: False when it was taken."""
    claimed = sql.INSERT_REQUEST[connection.dialect.name].rows(
        connection, {"user_id": user_id, "client_id": client_id, "id": log_id, "created_at": now}
    )
    return bool(claimed)


def _finish(
    tx: ConnectionTx,
    joint: _Joint | None,
    *,
    log: PracticeLogRead,
    confirmed: bool,
    now: datetime,
) -> Logged:
    """The log is written and its client_id claimed: the notice of a joint log, the commit."""
    if joint is not None:
        outbox.write_event(tx.connection, _notice(joint, log=log, confirmed=confirmed, now=now))
    tx.commit()
    return Logged(log, created=not confirmed)


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
